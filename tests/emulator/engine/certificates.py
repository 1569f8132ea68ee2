"""Master keys and certificates (issue 4)."""
import datetime

from .catalog import parse_datetime
from .errors import err, cannot, not_implemented


def endpoint_certificate_id(xc, name):
    """The master certificate an endpoint may use: 15151 if missing, 28055 if its private key is not
    protected by the master key or the current UTC date is outside its validity (tsql.md 1.3)."""
    row = xc.engine.one("SELECT certificate_id, pvt_key_encryption_type, start_date, expiry_date FROM certificates "
                        "WHERE db = 'master' AND name = ?", (name,))
    if row is None:
        raise cannot('find', 'certificate', name)
    now = datetime.datetime.utcnow()
    if row[1] != 'MK' or not parse_datetime(row[2]) <= now <= parse_datetime(row[3]):
        raise err(28055, name)
    return row[0]


def parse(st):
    raise not_implemented('%s %s' % (st.tok.text.upper(), st.peek().text.upper()))
