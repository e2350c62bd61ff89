#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# awsd.py: the Debian aws CLI, started once per test suite instead of once per call.
#
# `aws` is /usr/bin/aws: a Python script that imports awscli.clidriver and calls its main().
# Importing it takes about a second, which the integration suites paid a few hundred times
# each. This server imports awscli once, loads the service models the tests use, and then for
# every call forks a child that runs the very same awscli.clidriver main() with the caller's
# argv, environment, working directory and standard descriptors (passed over the socket), and
# returns its exit status. Each call starts from the same freshly loaded state, as a new `aws`
# process would: nothing one call does is seen by the next.
#
# Usage: awsd.py SOCKET   (tests/tools/awsc.c is the client; lib.sh starts both)
import array
import json
import os
import signal
import socket
import struct
import sys

import awscli.clidriver

PRELOAD = ("ecs", "cloudwatch", "application-autoscaling")


def warm():
    """Loads into the driver's session what every call would load again: the command table,
    the service models, the endpoint data. Nothing here reads credentials or the network."""
    driver = awscli.clidriver.create_clidriver()
    table = driver._get_command_table()
    driver._get_argument_table()
    driver._get_cli_data()
    loader = driver.session.get_component("data_loader")
    for name in PRELOAD:
        try:
            driver.session.get_service_model(name)
            if name in table:  # the operations' argument tables
                for op in table[name]._get_command_table().values():
                    getattr(op, "arg_table", None)
            loader.load_service_model(name, "endpoint-rule-set-1")
            loader.load_service_model(name, "paginators-1")
            loader.load_service_model(name, "waiters-2")
        except Exception:  # a model this awscli lacks is simply loaded per call
            pass
    for data in ("endpoints", "partitions", "_retry", "sdk-default-configuration"):
        try:
            loader.load_data(data)
        except Exception:
            pass
    return driver


def recv_request(conn):
    """One request: a 4-byte length, a JSON object {argv, env, cwd}, and fds 0-2."""
    fds = array.array("i")
    msg, anc, _, _ = conn.recvmsg(4, socket.CMSG_SPACE(3 * fds.itemsize))
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - (len(data) % fds.itemsize)])
    if len(msg) != 4 or len(fds) != 3:
        raise ValueError("bad request header")
    (size,) = struct.unpack("=I", msg)
    body = b""
    while len(body) < size:
        chunk = conn.recv(size - len(body))
        if not chunk:
            raise ValueError("short request")
        body += chunk
    return json.loads(body), list(fds)


def serve_one(driver, conn):
    req, fds = recv_request(conn)
    os.chdir(req["cwd"])
    os.environ.clear()
    os.environ.update(req["env"])
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    if os.environ.get("LC_CTYPE", "") == "UTF-8":  # as /usr/bin/aws does
        os.environ["LC_CTYPE"] = "en_US.UTF-8"
    sys.argv = ["aws"] + req["argv"]
    # What the session read from the config and credentials files while warming is read again
    # with this call's environment (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE, AWS_PROFILE).
    session = driver.session
    session._config = None
    session._profile_map = None
    session._credentials = None
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        rc = driver.main(req["argv"])
    except SystemExit as e:
        rc = e.code if isinstance(e.code, int) else 1
    except BaseException as e:  # the CLI's own guard failed: say so as aws would exit
        print(f"awsd: {type(e).__name__}: {e}", file=sys.stderr)
        rc = 255
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:
        pass
    conn.sendall(struct.pack("=i", rc if rc is not None else 0))


def main():
    path = sys.argv[1]
    driver = warm()
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(64)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children reap themselves
    sys.stdout.flush()
    while True:
        conn, _ = srv.accept()
        if os.fork() == 0:
            srv.close()
            try:
                serve_one(driver, conn)
            finally:
                os._exit(0)
        conn.close()


if __name__ == "__main__":
    main()
