"""Real TCP listeners for database mirroring endpoints.

STARTED: listens and keeps accepted connections open until the peer closes them (it does not speak the
mirroring protocol). DISABLED: listens, accepts, and closes at once (CREATE ENDPOINT page). STOPPED: no socket.
"""
import errno
import socket
import threading

from .errors import err

LISTENING_STATES = (0, 2)   # STARTED, DISABLED


class _Listener:
    def __init__(self, name, state, port, ip):
        self.name, self.state, self.port, self.ip = name, state, port, ip
        family = socket.AF_INET6 if ip and ':' in ip else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.sock.bind((ip or '0.0.0.0', port))
            self.sock.listen(16)
        except OSError:
            self.sock.close()
            raise
        self.sock.settimeout(0.2)
        self.stopping = threading.Event()
        self.connections = []
        self.thread = threading.Thread(target=self._accept_loop, name='endpoint-%s' % name, daemon=True)
        self.thread.start()

    def _accept_loop(self):
        while not self.stopping.is_set():
            try:
                conn, _unused = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            if self.state == 2:
                conn.close()
                continue
            self.connections.append(conn)
            threading.Thread(target=self._drain, args=(conn,), daemon=True).start()

    def _drain(self, conn):
        try:
            conn.settimeout(None)
            while conn.recv(4096):
                pass
        except OSError:
            pass
        finally:
            conn.close()

    def stop(self):
        self.stopping.set()
        try:
            self.sock.close()
        except OSError:
            pass
        for conn in self.connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
                conn.close()
            except OSError:
                pass
        self.thread.join(2)


class Listeners:
    def __init__(self, engine):
        self.engine = engine
        self.active = {}     # endpoint_id -> _Listener
        self.lock = threading.Lock()

    def sync(self):
        """At start: listen for every STARTED / DISABLED mirroring endpoint. A port that is taken now is
        logged-and-skipped, as SQL Server does at startup (the endpoint stays STARTED in the catalog)."""
        rows = self.engine.query('SELECT endpoint_id, name, state, port, ip_address FROM endpoints WHERE type = 4')
        for eid, name, state, port, ip in rows:
            try:
                self.apply(eid, name, state, port, ip)
            except Exception:
                pass

    def apply(self, endpoint_id, name, state, port, ip, restart=False):
        """Make the socket match (state, port, ip); state None = dropped. Raises 7890 if the port is taken."""
        with self.lock:
            current = self.active.get(endpoint_id)
            wanted = state in LISTENING_STATES
            if current and wanted and not restart and (current.port, current.ip) == (port, ip):
                current.state = state
                return
            if current:
                current.stop()
                del self.active[endpoint_id]
            if not wanted:
                return
            try:
                self.active[endpoint_id] = _Listener(name, state, port, ip)
            except OSError as exc:
                if current is not None:
                    try:   # keep the old binding alive when the new one cannot be had
                        self.active[endpoint_id] = _Listener(current.name, current.state, current.port,
                                                             current.ip)
                    except OSError:
                        pass
                if exc.errno in (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL):
                    raise err(7890, name)
                raise err(7890, name)

    def stop_all(self):
        with self.lock:
            for listener in self.active.values():
                listener.stop()
            self.active.clear()
