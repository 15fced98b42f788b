import random

import pytest

from voicebot.telephony.jitter import JitterBuffer
from voicebot.telephony.rtp import RtpPacket


def pkt(seq: int, ssrc: int = 1) -> RtpPacket:
    seq %= 65536
    return RtpPacket(0, seq, seq * 160, ssrc, bytes([seq & 0xFF]))


def seqs(out: list[RtpPacket | None]) -> list[int | None]:
    return [None if p is None else p.sequence for p in out]


def run(jb: JitterBuffer, order: list[int], ssrc: int = 1) -> list[int | None]:
    out: list[RtpPacket | None] = []
    for s in order:
        out += jb.push(pkt(s, ssrc))
    return seqs(out)


def test_in_order_packets_play_immediately_once_started() -> None:
    jb = JitterBuffer(3)
    assert run(jb, [0, 1, 2]) == []  # the start waits for the reordering window
    assert run(jb, [3]) == [0, 1, 2, 3]
    for s in range(4, 10):
        assert seqs(jb.push(pkt(s))) == [s]
    assert jb.flush() == []
    assert (jb.lost, jb.late, jb.duplicates) == (0, 0, 0)


def test_out_of_order_start_begins_at_the_earliest_packet() -> None:
    jb = JitterBuffer(3)
    assert run(jb, [2, 0, 1, 3]) == [0, 1, 2, 3]
    assert jb.late == 0


def test_reordered_packets_come_out_in_order() -> None:
    jb = JitterBuffer(3)
    run(jb, [0, 1, 2, 3])
    assert run(jb, [5, 6]) == []
    assert seqs(jb.push(pkt(4))) == [4, 5, 6]
    assert jb.lost == 0


def test_gap_is_declared_lost_after_max_delay_packets() -> None:
    jb = JitterBuffer(3)
    run(jb, [0, 1, 2, 3])
    assert run(jb, [5, 6, 7]) == []
    assert seqs(jb.push(pkt(8))) == [None, 5, 6, 7, 8]
    assert jb.lost == 1
    # the lost packet arriving afterwards is late, not played
    assert jb.push(pkt(4)) == []
    assert jb.late == 1


def test_zero_delay_declares_gaps_at_once() -> None:
    jb = JitterBuffer(0)
    assert run(jb, [0, 3]) == [0, None, None, 3]
    assert jb.lost == 2


def test_duplicates_are_dropped_whether_buffered_or_played() -> None:
    jb = JitterBuffer(1)
    assert run(jb, [0, 1, 1, 3, 3, 0]) == [0, 1]
    assert jb.duplicates == 3
    assert jb.late == 0


def test_sequence_wraps_around() -> None:
    jb = JitterBuffer(3)
    order = [65533, 65534, 0, 65535, 1, 2]
    assert run(jb, order) + seqs(jb.flush()) == [65533, 65534, 65535, 0, 1, 2]
    assert jb.lost == 0 and jb.late == 0


def test_flush_plays_out_the_rest_with_gaps_marked() -> None:
    jb = JitterBuffer(5)
    assert run(jb, [10, 12, 14]) == []
    assert seqs(jb.flush()) == [10, None, 12, None, 14]
    assert jb.lost == 2
    assert jb.flush() == []
    assert seqs(jb.push(pkt(15))) == [15]


def test_ssrc_change_plays_out_and_restarts() -> None:
    jb = JitterBuffer(1)
    assert run(jb, [0, 1, 3]) == [0, 1]
    assert seqs(jb.push(pkt(5000, ssrc=2))) == [None, 3]
    assert jb.resets == 1
    assert run(jb, [5001, 5002], ssrc=2) == [5000, 5001, 5002]


def test_huge_jump_confirmed_by_next_packet_restarts() -> None:
    jb = JitterBuffer(1)
    assert run(jb, [0, 1]) == [0, 1]
    assert run(jb, [20000]) == []
    assert run(jb, [20001, 20002]) == [20000, 20001, 20002]
    assert jb.resets == 1 and jb.lost == 0


def test_single_stray_packet_is_ignored() -> None:
    jb = JitterBuffer(1)
    assert run(jb, [0, 1, 40000, 2, 3]) == [0, 1, 2, 3]
    assert jb.stray == 1 and jb.resets == 0


def test_moderate_jump_is_loss_not_restart() -> None:
    jb = JitterBuffer(3, max_jump=100)
    out = run(jb, [0, 50])
    # 47..49 are still within the 3-packet wait when 50 arrives
    assert out == [0] + [None] * 46
    assert seqs(jb.flush()) == [None] * 3 + [50]
    assert jb.lost == 49 and jb.resets == 0


@pytest.mark.parametrize("seed", range(20))
def test_random_reordering_within_the_window_loses_nothing(seed: int) -> None:
    rng = random.Random(seed)
    order = list(range(65500, 65500 + 200))
    # swap neighbours at distance <= 2: always within a 3-packet window
    for i in range(0, len(order) - 2, 3):
        j = i + rng.randint(0, 2)
        order[i], order[j] = order[j], order[i]
    jb = JitterBuffer(3)
    out = run(jb, order) + seqs(jb.flush())
    assert out == [s % 65536 for s in range(65500, 65700)]
    assert jb.lost == 0


@pytest.mark.parametrize("seed", range(20))
def test_random_loss_and_duplication_keeps_order_and_counts(seed: int) -> None:
    rng = random.Random(seed)
    sent = [s for s in range(300) if rng.random() > 0.1]
    arrivals = sent + rng.sample(sent, 10)
    arrivals.sort(key=lambda s: s + rng.uniform(0, 2.5))
    jb = JitterBuffer(3)
    out = run(jb, arrivals) + seqs(jb.flush())
    played = [s for s in out if s is not None]
    assert played == sorted(set(played))
    first = out[0]
    assert len(out) == sent[-1] - first + 1
    assert jb.lost == out.count(None)
    assert jb.duplicates + jb.late + len(played) == len(arrivals)


def test_rejects_bad_settings() -> None:
    with pytest.raises(ValueError):
        JitterBuffer(-1)
    with pytest.raises(ValueError):
        JitterBuffer(3, max_jump=0)
