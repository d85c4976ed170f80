"""Deterministic, realistic-looking names, addresses, emails and phones for emulator seeding.

Provider-neutral: both emulators draw from a ``random.Random(seed)`` passed in, so the same seed always gives
the same data set. The lists are small on purpose; combinations give tens of thousands of distinct names.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass


def _words(text: str, sep: str | None = None) -> tuple[str, ...]:
    """Split a long literal into a tuple (keeps the word lists readable)."""
    return tuple(w for w in text.split(sep) if w)


FIRST_NAMES = _words(
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard Susan Joseph "
    "Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy Matthew Betty Anthony Margaret Mark Sandra "
    "Donald Ashley Steven Kimberly Paul Emily Andrew Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Dorothy "
    "George Melissa Timothy Deborah Ronald Stephanie Edward Rebecca Jason Sharon Jeffrey Laura Ryan Cynthia Jacob "
    "Kathleen Gary Amy Nicholas Angela Eric Shirley Jonathan Anna Stephen Brenda Larry Pamela Justin Emma Scott "
    "Nicole Brandon Helen Benjamin Samantha Samuel Katherine Gregory Christine Alexander Debra Frank Rachel Patrick "
    "Carolyn Raymond Janet Jack Catherine Dennis Maria Jerry Heather Tyler Diane Aaron Ruth Jose Julie Adam Olivia "
    "Henry Joyce Nathan Virginia Douglas Victoria Zachary Kelly Peter Lauren Kyle Christina Ethan Joan Walter Evelyn "
    "Noah Judith Jeremy Megan Christian Andrea Keith Cheryl Roger Hannah Terry Jacqueline Gerald Martha Harold Gloria "
    "Sean Teresa Austin Ann Carl Sara Arthur Madison Lawrence Frances Dylan Kathryn Jesse Janice Jordan Jean Bryan "
    "Abigail Billy Alice Joe Julia Bruce Judy Gabriel Sophia Logan Grace Albert Denise Willie Amber Alan Doris "
    "Juan Marilyn Wayne Danielle Elijah Beverly Randy Isabella Roy Theresa Vincent Diana Ralph Natalie Eugene Brittany "
    "Russell Charlotte Bobby Marie Mason Kayla Philip Alexis Louis Lori Priya Wei Mei Hiroshi Yuki Ahmed Fatima "
    "Carlos Lucia Mateo Sofia Diego Camila Luis Valentina Omar Aisha Raj Ananya Sven Ingrid Pierre Amelie Giulia "
    "Marco Lars Freya Kwame Amara Tariq Leila Dmitri Olga Niamh Declan Siobhan Rhys Cerys"
)

LAST_NAMES = _words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson "
    "Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis Robinson "
    "Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell "
    "Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris "
    "Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward "
    "Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders "
    "Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan Bell Coleman Butler Henderson Barnes "
    "Gonzales Fisher Vasquez Simmons Romero Jordan Patterson Alexander Hamilton Graham Reynolds Griffin Wallace "
    "Moreno West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro Marshall Owens "
    "Harrison Fernandez McDonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman Webb Tucker Guzman Burns "
    "Crawford Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon Munoz Hunt Hicks Holmes Palmer "
    "Wagner Black Robertson Boyd Rose Stone Salazar Fox Warren Mills Meyer Rice Schmidt Garza Daniels Ferguson Nichols "
    "Stephens Soto Weaver Ryan Gardner Payne Grant Dunn Kelley Spencer Hawkins Arnold Pierce Vazquez Hansen Peters "
    "Santos Hart Bradley Knight Elliott Cunningham Duncan Armstrong Hudson Carroll Lane Riley Andrews Alvarado Ray "
    "Delgado Berry Perkins Hoffman Johnston Matthews Pena Richards Contreras Willis Carpenter Lawrence Sandoval "
    "O'Brien O'Connor Dubois Rossi Bianchi Novak Kowalski Jansen Lindqvist Nakamura Tanaka Sato Wang Zhang Singh "
    "Okafor Mensah Haddad Kaur Iyer Schneider Fischer Weber Becker Larsen"
)

COMPANY_WORDS = _words(
    "Acme Apex Summit Pinnacle Harbor Lakeside Riverside Granite Cedar Maple Oak Pine Willow Redwood Sierra Cascade "
    "Blue Ridge Golden Silver Iron Copper Northern Southern Eastern Western Pacific Atlantic Prairie Mesa Canyon "
    "Evergreen Horizon Keystone Liberty Frontier Heritage Pioneer Sterling Beacon Compass Anchor Lighthouse Meridian "
    "Vertex Quantum Fusion Nova Orbit Polaris Zenith Crescent Sunrise Sunset Bayside Hillcrest Brookside Fairview "
    "Greenfield Highland Lowland Riverbend Stonebridge Westfield Oakmont Kingsley Ashford Whitmore Thornton Hawthorne"
)

COMPANY_TRADES = _words(
    "Plumbing|Electric|Landscaping|Bakery|Dental|Veterinary Clinic|Auto Repair|Construction|Roofing|Consulting|"
    "Design Studio|Marketing|Logistics|Freight|Catering|Coffee Roasters|Brewing Co|Florist|Hardware|Supply|"
    "Builders|Cleaning Services|Pest Control|HVAC|Printing|Photography|Fitness|Yoga Studio|Law Group|Accounting|"
    "Insurance Agency|Realty|Property Management|Medical Group|Pharmacy|Pet Supplies|Outfitters|Bike Shop|"
    "Machine Works|Metal Fabrication|Woodworks|Cabinetry|Flooring|Painting|Glass|Signs|Tech Solutions|Software|"
    "IT Services|Staffing|Events|Travel|Farms|Orchards|Vineyards|Dairy|Seafood|Market|Deli|Bistro|Grill|Pizzeria",
    "|",
)

COMPANY_SUFFIXES = ("", "", "", " LLC", " Inc", " Inc.", " Co.", " Ltd", " Group", " & Sons", " Partners", " Corp")

STREET_NAMES = _words(
    "Main|Oak|Pine|Maple|Cedar|Elm|Washington|Lake|Hill|Park|View|Walnut|Sunset|Spring|Ridge|Church|Highland|"
    "Mill|Forest|River|Meadow|Center|Jackson|Lincoln|Franklin|Jefferson|Madison|Adams|Chestnut|Willow|Birch|"
    "Hickory|Magnolia|Dogwood|Valley|Broad|Market|Front|Water|Bridge|Union|Liberty|Prospect|Harbor|Bay|Canyon",
    "|",
)
STREET_TYPES = ("St", "Ave", "Blvd", "Rd", "Dr", "Ln", "Way", "Ct", "Pl", "Pkwy")

#: (city, state, 3-digit ZIP prefix)
CITIES = (
    ("San Francisco", "CA", "941"),
    ("Oakland", "CA", "946"),
    ("San Jose", "CA", "951"),
    ("Mountain View", "CA", "940"),
    ("Los Angeles", "CA", "900"),
    ("San Diego", "CA", "921"),
    ("Sacramento", "CA", "958"),
    ("Portland", "OR", "972"),
    ("Seattle", "WA", "981"),
    ("Spokane", "WA", "992"),
    ("Boise", "ID", "837"),
    ("Denver", "CO", "802"),
    ("Boulder", "CO", "803"),
    ("Phoenix", "AZ", "850"),
    ("Tucson", "AZ", "857"),
    ("Salt Lake City", "UT", "841"),
    ("Las Vegas", "NV", "891"),
    ("Austin", "TX", "787"),
    ("Dallas", "TX", "752"),
    ("Houston", "TX", "770"),
    ("San Antonio", "TX", "782"),
    ("Chicago", "IL", "606"),
    ("Minneapolis", "MN", "554"),
    ("Madison", "WI", "537"),
    ("Detroit", "MI", "482"),
    ("Columbus", "OH", "432"),
    ("Cleveland", "OH", "441"),
    ("Indianapolis", "IN", "462"),
    ("Nashville", "TN", "372"),
    ("Atlanta", "GA", "303"),
    ("Miami", "FL", "331"),
    ("Orlando", "FL", "328"),
    ("Tampa", "FL", "336"),
    ("Charlotte", "NC", "282"),
    ("Raleigh", "NC", "276"),
    ("Richmond", "VA", "232"),
    ("Baltimore", "MD", "212"),
    ("Philadelphia", "PA", "191"),
    ("Pittsburgh", "PA", "152"),
    ("Newark", "NJ", "071"),
    ("Brooklyn", "NY", "112"),
    ("Albany", "NY", "122"),
    ("Boston", "MA", "021"),
    ("Providence", "RI", "029"),
    ("Hartford", "CT", "061"),
    ("Burlington", "VT", "054"),
    ("Portland", "ME", "041"),
    ("Kansas City", "MO", "641"),
    ("St. Louis", "MO", "631"),
    ("Omaha", "NE", "681"),
)

EMAIL_DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "icloud.com", "hotmail.com", "aol.com", "proton.me")

VENDOR_NAMES = (
    "Office Supplies Direct",
    "Pacific Gas & Power",
    "Cal Telecom",
    "Brosnahan Insurance Agency",
    "Hicks Hardware",
    "Norton Lumber and Building Materials",
    "Tania's Nursery",
    "Chin's Gas and Oil",
    "Books by Bessie",
    "Lee Advertising",
)


@dataclass(frozen=True)
class Person:
    """A generated individual."""

    given: str
    family: str


def person(rng: random.Random) -> Person:
    """A random first/last name pair."""
    return Person(rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES))


def company_name(rng: random.Random) -> str:
    """A small-business name such as ``Cedar Ridge Plumbing LLC`` or ``Nguyen Dental``."""
    roll = rng.random()
    if roll < 0.45:
        base = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_TRADES)}"
    elif roll < 0.75:
        base = f"{rng.choice(LAST_NAMES)} {rng.choice(COMPANY_TRADES)}"
    elif roll < 0.9:
        base = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_TRADES)}"
    else:
        base = f"{rng.choice(LAST_NAMES)} & {rng.choice(LAST_NAMES)}"
    return base + rng.choice(COMPANY_SUFFIXES)


def slug(text: str) -> str:
    """Lower-case ASCII letters and digits only (for email local parts and domains)."""
    return re.sub(r"[^a-z0-9]+", "", text.lower())


def email_for(rng: random.Random, given: str, family: str, company: str | None) -> str:
    """An address at the company's domain when there is one, else at a consumer mail domain."""
    local = rng.choice((f"{slug(given)}.{slug(family)}", f"{slug(given)[:1]}{slug(family)}", slug(given)))
    if company:
        words = [w for w in re.split(r"\s+", company) if slug(w) and slug(w) not in {"llc", "inc", "co", "ltd", "corp"}]
        domain = slug("".join(words[:2])) or "example"
        return f"{local}@{domain}.com"
    return f"{local}{rng.randint(1, 99) if rng.random() < 0.4 else ''}@{rng.choice(EMAIL_DOMAINS)}"


def phone(rng: random.Random) -> str:
    """A US-format number in the fictional 555-01xx range used for examples."""
    return f"({rng.randint(201, 989)}) 555-01{rng.randint(0, 99):02d}"


def address(rng: random.Random) -> dict[str, str]:
    """A US street address in QBO ``PhysicalAddress`` shape (the Xero emulator can remap keys)."""
    city, state, prefix = rng.choice(CITIES)
    line1 = f"{rng.randint(1, 9899)} {rng.choice(STREET_NAMES)} {rng.choice(STREET_TYPES)}"
    result = {
        "Line1": line1,
        "City": city,
        "CountrySubDivisionCode": state,
        "PostalCode": f"{prefix}{rng.randint(0, 99):02d}",
        "Country": "USA",
    }
    if rng.random() < 0.15:
        result["Line2"] = f"Suite {rng.randint(100, 990)}"
    return result
