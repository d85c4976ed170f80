"""Human names of the accounting systems, used in every message a user reads."""

from arsync.models.common import AccountingSystem

_LABELS = {
    AccountingSystem.QUICKBOOKS_ONLINE: "QuickBooks Online",
    AccountingSystem.XERO: "Xero",
    AccountingSystem.SAGE_INTACCT: "Sage Intacct",
    AccountingSystem.QUICKBOOKS_DESKTOP: "QuickBooks Desktop",
}


def system_label(system: AccountingSystem | str) -> str:
    return _LABELS[AccountingSystem(system)]
