"""T-SQL tokenizer: identifiers ([..], ".."), N'' strings, 0x binaries, numbers, comments."""
import re
from dataclasses import dataclass

from .errors import err

# T-SQL reserved keywords (Microsoft's "Reserved Keywords" list): they give 156, not 102.
RESERVED = frozenset('''
ADD ALL ALTER AND ANY AS ASC AUTHORIZATION BACKUP BEGIN BETWEEN BREAK BROWSE BULK BY CASCADE CASE CHECK
CHECKPOINT CLOSE CLUSTERED COALESCE COLLATE COLUMN COMMIT COMPUTE CONSTRAINT CONTAINS CONTAINSTABLE CONTINUE
CONVERT CREATE CROSS CURRENT CURRENT_DATE CURRENT_TIME CURRENT_TIMESTAMP CURRENT_USER CURSOR DATABASE DBCC
DEALLOCATE DECLARE DEFAULT DELETE DENY DESC DISK DISTINCT DISTRIBUTED DOUBLE DROP DUMP ELSE END ERRLVL ESCAPE
EXCEPT EXEC EXECUTE EXISTS EXIT EXTERNAL FETCH FILE FILLFACTOR FOR FOREIGN FREETEXT FREETEXTTABLE FROM FULL
FUNCTION GOTO GRANT GROUP HAVING HOLDLOCK IDENTITY IDENTITY_INSERT IDENTITYCOL IF IN INDEX INNER INSERT
INTERSECT INTO IS JOIN KEY KILL LEFT LIKE LINENO LOAD MERGE NATIONAL NOCHECK NONCLUSTERED NOT NULL NULLIF OF
OFF OFFSETS ON OPEN OPENDATASOURCE OPENQUERY OPENROWSET OPENXML OPTION OR ORDER OUTER OVER PERCENT PIVOT PLAN
PRECISION PRIMARY PRINT PROC PROCEDURE PUBLIC RAISERROR READ READTEXT RECONFIGURE REFERENCES REPLICATION
RESTORE RESTRICT RETURN REVERT REVOKE RIGHT ROLLBACK ROWCOUNT ROWGUIDCOL RULE SAVE SCHEMA SECURITYAUDIT SELECT
SEMANTICKEYPHRASETABLE SEMANTICSIMILARITYDETAILSTABLE SEMANTICSIMILARITYTABLE SESSION_USER SET SETUSER SHUTDOWN
SOME STATISTICS SYSTEM_USER TABLE TABLESAMPLE TEXTSIZE THEN TO TOP TRAN TRANSACTION TRIGGER TRUNCATE TRY_CONVERT
TSEQUAL UNION UNIQUE UNPIVOT UPDATE UPDATETEXT USE USER VALUES VARYING VIEW WAITFOR WHEN WHERE WHILE WITH
WITHIN WRITETEXT
'''.split())


@dataclass
class Token:
    kind: str    # id qid var sysvar str nstr num bin op eof
    value: object
    text: str    # as written in the batch
    pos: int

    @property
    def upper(self):
        return self.value.upper() if self.kind == 'id' else None

    @property
    def is_reserved(self):
        return self.kind == 'id' and self.value.upper() in RESERVED

    def near_text(self):
        """How SQL Server names this token in 'Incorrect syntax near ...'."""
        if self.kind in ('str', 'nstr'):
            return self.value
        if self.kind == 'qid':
            return self.value
        return self.text


_SIMPLE = re.compile(r'''
    (?P<ws>\s+)
  | (?P<line>--[^\n]*)
  | (?P<bin>0[xX][0-9A-Fa-f]*)
  | (?P<num>(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?)
  | (?P<sysvar>@@[A-Za-z_0-9#$@]+)
  | (?P<var>@[A-Za-z_0-9#$@]+)
  | (?P<id>[A-Za-z_#\u0080-\uffff][A-Za-z_0-9#$@\u0080-\uffff]*)
  | (?P<op>::|<>|!=|<=|>=|!<|!>|[=<>+\-*/%(),.;~&|^!{}:])
''', re.X)


def _check_length(text, pos):
    if len(text) > 128:
        raise err(103, text[:128], aborts_batch=True)


def tokenize(sql):
    tokens = []
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c == '/' and sql.startswith('/*', i):
            i = _skip_block_comment(sql, i)
            continue
        if c in "'" or (c in 'Nn' and sql.startswith("'", i + 1)):
            start = i
            i += 1 if c == "'" else 2
            value, i = _quoted(sql, i, "'")
            kind = 'str' if c == "'" else 'nstr'
            tokens.append(Token(kind, value, sql[start:i], start))
            continue
        if c == '[':
            start = i
            value, i = _quoted(sql, i + 1, ']')
            _check_length(value, start)
            tokens.append(Token('qid', value, sql[start:i], start))
            continue
        if c == '"':
            start = i
            value, i = _quoted(sql, i + 1, '"')
            _check_length(value, start)
            tokens.append(Token('qid', value, sql[start:i], start))
            continue
        m = _SIMPLE.match(sql, i)
        if not m:
            from .errors import syntax_near
            raise syntax_near(c, False)
        kind = m.lastgroup
        text = m.group()
        if kind in ('ws', 'line'):
            pass
        elif kind == 'bin':
            digits = text[2:]
            if len(digits) % 2:
                digits = '0' + digits
            tokens.append(Token('bin', bytes.fromhex(digits), text, i))
        elif kind == 'num':
            if re.fullmatch(r'\d+', text):
                value = int(text)
            else:
                value = float(text) if 'e' in text.lower() else text  # decimal kept as text
            tokens.append(Token('num', value, text, i))
        elif kind in ('id', 'var', 'sysvar'):
            _check_length(text, i)
            tokens.append(Token(kind, text, text, i))
        else:
            tokens.append(Token('op', text, text, i))
        i = m.end()
    tokens.append(Token('eof', '', '', n))
    return tokens


def _quoted(sql, i, close):
    """Read up to the closing quote (doubled quote = literal quote). i is after the opening quote."""
    parts = []
    start = i
    while True:
        j = sql.find(close, i)
        if j < 0:
            raise err(105, sql[start:], aborts_batch=True)
        parts.append(sql[i:j])
        if sql.startswith(close * 2, j):
            parts.append(close)
            i = j + 2
            continue
        return ''.join(parts), j + 1


def _skip_block_comment(sql, i):
    depth = 0
    n = len(sql)
    while i < n:
        if sql.startswith('/*', i):
            depth += 1
            i += 2
        elif sql.startswith('*/', i):
            depth -= 1
            i += 2
            if depth == 0:
                return i
        else:
            i += 1
    raise err(113, aborts_batch=True)
