"""Prints the median of each labelled load-generator run and its ratio to
a baseline, as a Markdown table: the ratio of the medians, and the median
of the ratios of each round (a run and the baseline's run of the same
round, minutes apart at most: on a shared machine the surer figure), with
a 90% bootstrap interval of that median (10,000 resamples of the rounds,
a fixed seed: the same results print the same interval).
Arguments: the results file (one JSON object per line), the proxy's peak
resident memory in KiB, the proxy's name, then label=baseline pairs in the
order to print."""
import json
import random
import statistics
import sys

results, peak_kib, proxy, pairs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
by = {}
for line in open(results):
    row = json.loads(line)
    by.setdefault(row["label"], []).append(row)


def med(label, key):
    return statistics.median(r[key] for r in by[label])


def round_ratios(label, base):
    return [a["rps"] / b["rps"] for a, b in zip(by[label], by[base])]


def interval(ratios):
    """The 5th and 95th percentiles of the median of resampled rounds."""
    rng = random.Random(1)
    boots = sorted(statistics.median(rng.choices(ratios, k=len(ratios))) for _ in range(10000))
    return boots[500], boots[9499]


print("| case | req/s (median) | ratio to baseline | median of round ratios (90% interval) | p50 ms | p99 ms | wrong | 5xx |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
bad = 0
for pair in pairs:
    label, base = pair.split("=", 1)
    wrong = sum(r["wrong_decisions"] for r in by[label])
    server = sum(r["server_errors"] for r in by[label])
    bad += wrong + server
    ratios = round_ratios(label, base)
    low, high = interval(ratios)
    print(f"| {label} | {med(label, 'rps'):.0f} | {med(label, 'rps') / med(base, 'rps'):.3f} | "
          f"{statistics.median(ratios):.3f} ({low:.3f}–{high:.3f}) | "
          f"{med(label, 'p50_ms'):.2f} | {med(label, 'p99_ms'):.2f} | {wrong} | {server} |")
print(f"\n{proxy} peak resident memory: {int(peak_kib) / 1024:.0f} MiB")
sys.exit(1 if bad else 0)
