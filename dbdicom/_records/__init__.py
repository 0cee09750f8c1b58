"""The records layer: Database, Patient, Study, Series and Instance handles."""

from ._database import Database, database
from ._edit import open_databases
from ._levels import Instance, Patient, Series, Study
from ._record import Record

__all__ = [
    "Database",
    "Instance",
    "Patient",
    "Record",
    "Series",
    "Study",
    "database",
    "open_databases",
]
