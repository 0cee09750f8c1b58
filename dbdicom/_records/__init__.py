"""The records layer: Database, Patient, Study, Series and Instance handles."""

from ._database import Database
from ._edit import open_databases
from ._levels import Instance, Patient, Series, Study
from ._open import database, dicomweb
from ._record import Record
from ._tree import open_group, tree_of

__all__ = [
    "Database",
    "Instance",
    "Patient",
    "Record",
    "Series",
    "Study",
    "database",
    "dicomweb",
    "open_group",
    "tree_of",
    "open_databases",
]
