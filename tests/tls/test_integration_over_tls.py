"""With MSSQL_HADR_TLS_SUITE=1 (make fuzz sets it) the integration suite's module tests run again here, unchanged,
against emulators serving TLS, with every module validating the certificate through ca_file (tests/tls/conftest.py
replaces the emulator fixtures for tests collected in this package). Without the switch nothing is collected
from this file: the plain run of the same tests is tests/integration."""
import os

if os.environ.get('MSSQL_HADR_TLS_SUITE') == '1':
    # pylint: disable=wildcard-import,unused-wildcard-import
    from tests.integration.test_certificate import *  # noqa: F401,F403
    from tests.integration.test_endpoint import *  # noqa: F401,F403
    from tests.integration.test_endpoint_certificates import *  # noqa: F401,F403
    from tests.integration.test_endpoint_info import *  # noqa: F401,F403
    from tests.integration.test_endpoint_permission import *  # noqa: F401,F403
    from tests.integration.test_login import *  # noqa: F401,F403
    from tests.integration.test_master_key import *  # noqa: F401,F403
    from tests.integration.test_partner_trust import *  # noqa: F401,F403
    from tests.integration.test_partner_trust_certificates import *  # noqa: F401,F403
    from tests.integration.test_user import *  # noqa: F401,F403
