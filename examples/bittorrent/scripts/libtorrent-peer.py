#!/usr/bin/env python3
"""libtorrent (Debian's python3-libtorrent) as the real peer of examples/bittorrent's tests.

Usage: libtorrent-peer.py seed|leech TORRENT DIR [HOST:PORT]

seed:  verifies DIR/<name> and seeds it; prints {"listening": PORT} once it is seeding.
leech: downloads into DIR, connecting to HOST:PORT directly; prints {"finished": true} when done.
DHT, local peer discovery, UPnP, NAT-PMP, uTP and peer exchange are off; it listens on 127.0.0.1
only. Run it inside a network namespace that has only loopback. Stops when stdin closes.
"""
import json
import sys
import threading
import time

import libtorrent as lt

mode, torrent_path, directory = sys.argv[1], sys.argv[2], sys.argv[3]
target = sys.argv[4] if len(sys.argv) > 4 else None

settings = {
    'listen_interfaces': '127.0.0.1:0',
    'enable_dht': False,
    'enable_lsd': False,
    'enable_upnp': False,
    'enable_natpmp': False,
    'enable_outgoing_utp': False,
    'enable_incoming_utp': False,
    'allow_multiple_connections_per_ip': True,
    'alert_mask': lt.alert.category_t.status_notification | lt.alert.category_t.error_notification,
}
# Flags 0: none of the default plugins, so no peer exchange (ut_pex) and no metadata exchange.
session = lt.session(settings, 0)
info = lt.torrent_info(torrent_path)
params = lt.add_torrent_params()
params.ti = info
params.save_path = directory
params.flags &= ~lt.torrent_flags.auto_managed
params.flags &= ~lt.torrent_flags.paused
handle = session.add_torrent(params)

stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()


def say(obj):
    sys.stdout.write(json.dumps(obj) + '\n')
    sys.stdout.flush()


if mode == 'seed':
    handle.force_recheck()
    while not stop.is_set():
        s = handle.status()
        if s.is_seeding:
            say({'listening': session.listen_port()})
            break
        time.sleep(0.05)
    stop.wait()
else:
    host, port = target.rsplit(':', 1)
    handle.connect_peer((host, int(port)))
    deadline = time.time() + 50
    while not stop.is_set() and time.time() < deadline:
        s = handle.status()
        if s.is_seeding:
            say({'finished': True, 'downloaded': s.total_payload_download})
            break
        if s.num_peers == 0:
            handle.connect_peer((host, int(port)))
        time.sleep(0.05)
    else:
        say({'finished': False})
    stop.wait()
