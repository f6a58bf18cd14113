"""Runs a command and stops it when our stdin closes.

Why: the integration tests start servers (moto, our own issuer and proxy, docker-registry)
that must not outlive the test process, even when it is killed. The test keeps the write end
of this process's stdin open for as long as it lives; the kernel closes it when the test
process exits in any way, and then this watchdog terminates the server.
"""

import os
import subprocess
import sys
import threading


def main() -> int:
    child = subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL)

    def watch() -> None:
        try:
            while sys.stdin.buffer.read(4096):
                pass
        finally:
            child.terminate()
            try:
                child.wait(timeout=5)
            except subprocess.TimeoutExpired:
                child.kill()
            os._exit(0)

    threading.Thread(target=watch, daemon=True).start()
    return child.wait()


if __name__ == "__main__":
    sys.exit(main())
