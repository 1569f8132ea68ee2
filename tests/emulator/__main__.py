"""python -m tests.emulator --port PORT --data DIR [...]  (the contract: tests/emulator/README.md)"""
import argparse
import os
import signal
import ssl
import sys
import threading

DEFAULT_SA_PASSWORD = 'Emul@tor-Passw0rd'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog='python -m tests.emulator',
                                     description='SQL Server emulator speaking TDS (test infrastructure).')
    parser.add_argument('--port', type=int, required=True, help='TCP port for TDS clients')
    parser.add_argument('--data', required=True, help='directory holding the instance state (SQLite)')
    parser.add_argument('--host', default='127.0.0.1', help='address to listen on (default 127.0.0.1)')
    parser.add_argument('--server-name', help='@@SERVERNAME (default: the host name, upper case)')
    parser.add_argument('--platform', choices=('windows', 'linux'), default='windows')
    parser.add_argument('--sa-password', default=DEFAULT_SA_PASSWORD)
    parser.add_argument('--service-account', help='service account shown in sys.dm_server_services')
    parser.add_argument('--windows-account', action='append', default=[], metavar='DOMAIN\\name',
                        help='a domain account the instance can resolve (repeatable)')
    parser.add_argument('--log', help='append one JSON line per client request to this file')
    parser.add_argument('--tls-cert', help='PEM server certificate (enables TLS)')
    parser.add_argument('--tls-key', help='PEM private key of --tls-cert')
    args = parser.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error('--tls-cert and --tls-key go together')
    return args


def default_service_account(platform):
    return 'NT Service\\MSSQLSERVER' if platform == 'windows' else 'mssql'


def main(argv=None):
    args = parse_args(argv)
    # imported late so that --help works without the engine's dependencies
    from tests.emulator.engine import Engine
    from tests.emulator.server import RequestLog, TdsServer
    from tests.emulator.tlsutil import server_contexts

    in_band = strict = None
    try:
        if args.tls_cert:
            in_band, strict = server_contexts(args.tls_cert, args.tls_key)
    except (OSError, ssl.SSLError) as exc:
        sys.stderr.write('emulator: cannot use --tls-cert/--tls-key: %s\n' % exc)
        return 2
    try:
        request_log = RequestLog(args.log)
    except OSError as exc:
        sys.stderr.write('emulator: cannot open --log %s: %s\n' % (args.log, exc.strerror))
        return 2
    os.makedirs(args.data, exist_ok=True)
    server_name = args.server_name or os.uname().nodename.split('.')[0].upper()
    engine = Engine(args.data, server_name=server_name, platform=args.platform, sa_password=args.sa_password,
                    service_account=args.service_account or default_service_account(args.platform),
                    windows_accounts=args.windows_account, host=args.host)
    try:
        server = TdsServer(engine, args.host, args.port, server_name=server_name, request_log=request_log,
                           tls_context=in_band, strict_tls_context=strict,
                           product_version=engine.fn_serverproperty('ProductVersion'))
    except OSError as exc:
        engine.close()
        sys.stderr.write('emulator: cannot listen on %s:%d: %s\n' % (args.host, args.port, exc.strerror))
        return 2

    def stop(signum, frame):  # pylint: disable=unused-argument
        # shutdown() waits for serve_forever(), so it must run outside the signal handler's thread
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print('listening on %s:%d' % server.server_address[:2], flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        server.close_connections()   # requests in progress finish before the catalog closes
        engine.close()
        request_log.close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
