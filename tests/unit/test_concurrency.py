"""The keyed locks shared by sync threads and async tasks."""

from __future__ import annotations

import asyncio
import threading

import pytest

from lark_service._concurrency import AsyncKeyedLocks, KeyedLocks


def test_a_cancelled_waiter_does_not_leak_the_lock() -> None:
    threads = KeyedLocks()
    locks = AsyncKeyedLocks(threads)
    held = threads.get("k")

    async def scenario() -> None:
        held.acquire()  # a sync thread holds the key

        async def wait_for_it() -> None:
            async with locks.get("k"):
                pytest.fail("must not get the lock while the thread holds it")

        task = asyncio.create_task(wait_for_it())
        while not task.done() and threading.active_count() < 2:  # the waiter is in its thread
            await asyncio.sleep(0)
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        held.release()  # the thread leaves; the cancelled waiter must not keep the lock
        # wait until the worker thread that was blocked in acquire() has finished
        await asyncio.get_running_loop().shutdown_default_executor()

    asyncio.run(scenario())
    assert not held.locked()


@pytest.mark.anyio
async def test_tasks_and_threads_exclude_each_other() -> None:
    threads = KeyedLocks()
    locks = AsyncKeyedLocks(threads)
    inside = 0
    peak = 0
    guard = threading.Lock()

    def enter() -> None:
        nonlocal inside, peak
        with guard:
            inside += 1
            peak = max(peak, inside)

    def leave() -> None:
        nonlocal inside
        with guard:
            inside -= 1

    def thread_worker() -> None:
        for _ in range(50):
            with threads.get("k"):
                enter()
                leave()

    async def task_worker() -> None:
        for _ in range(50):
            async with locks.get("k"):
                enter()
                await asyncio.sleep(0)
                leave()

    workers = [threading.Thread(target=thread_worker) for _ in range(3)]
    for w in workers:
        w.start()
    await asyncio.gather(*(task_worker() for _ in range(3)))
    for w in workers:
        w.join()
    assert peak == 1
