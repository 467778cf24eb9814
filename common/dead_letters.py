"""The dead-letter queue from the command line: ``python -m common.dead_letters list|replay|purge [N]``.

- ``list``: the parked messages (task, id, why, how many retries), left in the queue;
- ``replay``: moves up to N (default 100) back to the task queue, retries counted from 0;
- ``purge``: deletes up to N.
Works the same on RabbitMQ and on the Redis broker (common/tasks.py).
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from common.tasks import dead_letter_messages, replay_dead_letters

    action = argv[0] if argv else "list"
    limit = int(argv[1]) if len(argv) > 1 else 100
    if action == "list":
        for _message, headers in dead_letter_messages(limit):
            reason = headers.get("dead_letter_reason") or (headers.get("x-first-death-reason") or "rejected")
            print(f"{headers.get('task')}[{headers.get('id')}] retries={headers.get('dead_letter_retries', headers.get('retries'))} "
                  f"reason={reason}")
        return 0
    if action == "replay":
        print(f"replayed {replay_dead_letters(limit)} messages")
        return 0
    if action == "purge":
        print(f"purged {len(dead_letter_messages(limit, remove=True))} messages")
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
