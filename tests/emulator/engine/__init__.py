"""The SQL Server emulator's engine: SQLite catalog, strict T-SQL parser, semantics (see INTERNALS.md)."""
from .errors import SqlError
from .core import Column, Engine, Param, Session, StatementResult

__all__ = ['SqlError', 'Column', 'StatementResult', 'Engine', 'Session', 'Param']
