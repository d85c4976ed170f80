"""One package per Lambda function; each `app.py` is that function's composition root and handler."""
