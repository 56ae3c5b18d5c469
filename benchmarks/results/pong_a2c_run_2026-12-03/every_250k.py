import json, sys
run = sys.argv[1]
eps = [json.loads(l) for l in open(run + '/episodes.jsonl')]
prog = [json.loads(l) for l in open(run + '/progress.jsonl')]
step = 250_000
mark = step
while True:
    before = [r for r in eps if r['env_step'] <= mark]
    p = [r for r in prog if r['env_steps'] <= mark]
    if not p or p[-1]['env_steps'] < mark - 50_000: break
    last = before[-20:]
    q = p[-1]
    print(f"{mark:>9,} games {len(before):5d} last20 {sum(r['return'] for r in last)/max(1,len(last)):6.2f} "
          f"entropy {q.get('learner/entropy', float('nan')):.3f} ev {q.get('learner/explained_variance', float('nan')):.2f} "
          f"vloss {q.get('learner/value_loss', float('nan')):.4f} gn {q.get('learner/grad_norm', float('nan')):.3f} t {q['time_s']:.0f}s rate {q['steps_per_s']:.0f}")
    mark += step
q = prog[-1]
print("now", q['env_steps'], "entropy", q.get('learner/entropy'), "ev", q.get('learner/explained_variance'), "games", len(eps), "last20", sum(r['return'] for r in eps[-20:])/20)
