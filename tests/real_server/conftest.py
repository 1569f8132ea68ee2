"""Tests against real SQL Server instances (.github/workflows/integration.yml runs them with the
mcr.microsoft.com/mssql/server:2022-latest image). They are collected only when MSSQL_HADR_SERVERS names
the instances, so `make test`, which has no SQL Server, does not collect them at all rather than
skipping them.

    MSSQL_HADR_SERVERS="sql1=sql1:1433,sql2=sql2:1433"   name=host:port[/endpoint port], 2 or more instances
    MSSQL_HADR_SA_PASSWORD=...                           password of sa on every instance
    MSSQL_HADR_ODBC_DRIVER=FreeTDS                        optional (default: autodetect)
    MSSQL_HADR_ENDPOINT_PORT=5022                         optional; endpoint port when not given per instance
    MSSQL_HADR_ENCRYPT=true, MSSQL_HADR_TRUST_SERVER_CERTIFICATE=true   optional (defaults shown)
"""
import os

if not os.environ.get('MSSQL_HADR_SERVERS'):
    collect_ignore_glob = ['test_*.py']
