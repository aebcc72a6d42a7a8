/** Optimizers, schedule and clipping against torch.optim (float32), and bit-for-bit resume from exported state. */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  tf,
  Rng,
  Adam,
  AdamW,
  SGD,
  Linear,
  Sequential,
  ReLU,
  BatchNorm1d,
  clipGradNorm,
  cosineWithWarmup,
  parameterGroups,
  optimizerStateFromJSON,
  optimizerStateToJSON,
  type Optimizer,
  type ParamGroup,
} from 'geoclr';
import { needPython, runPythonFile } from './support/peers.js';
import { readExchange, tempExchangeDir, writeExchange } from './support/exchange.js';
import { assertClose } from './support/tf.js';

const SHAPES: Record<string, number[]> = { w1: [4, 3], b1: [4], w2: [2, 4], b2: [2] };

interface OptCase {
  name: string;
  kind: 'adam' | 'adamw' | 'sgd';
  options: Record<string, unknown>;
  groups: Array<{ params: string[]; lr?: number; weightDecay?: number }>;
  steps: number;
  factors: number[];
  clip?: number;
}

function make(c: OptCase, vars: Record<string, tf.Variable>): Optimizer {
  const groups: ParamGroup[] = c.groups.map((g) => ({ params: g.params.map((p) => [p, vars[p]] as [string, tf.Variable]), lr: g.lr, weightDecay: g.weightDecay }));
  const o = c.options as { lr: number; betas: [number, number]; eps: number; weightDecay: number; momentum: number; dampening: number; nesterov: boolean };
  if (c.kind === 'sgd') return new SGD(groups, o);
  return c.kind === 'adam' ? new Adam(groups, o) : new AdamW(groups, o);
}

describe('optimizers', function () {
  const sched = cosineWithWarmup({ warmupSteps: 2, totalSteps: 6, minFactor: 0.1 });
  const factors = Array.from({ length: 7 }, (_, s) => sched(s));
  const adamOpts = { lr: 1e-2, betas: [0.9, 0.99], eps: 1e-8, weightDecay: 0.01 };
  const sgdOpts = { lr: 0.05, momentum: 0.9, dampening: 0, nesterov: false, weightDecay: 1e-3 };
  const all = ['w1', 'b1', 'w2', 'b2'];
  const CASES: OptCase[] = [
    { name: 'adam', kind: 'adam', options: adamOpts, groups: [{ params: all }], steps: 6, factors },
    { name: 'adamw_groups', kind: 'adamw', options: { ...adamOpts, lr: 3e-3, weightDecay: 0.05 }, groups: [{ params: ['w1', 'w2'] }, { params: ['b1', 'b2'], weightDecay: 0, lr: 1e-2 }], steps: 6, factors },
    { name: 'adam_clip', kind: 'adam', options: { ...adamOpts, weightDecay: 0 }, groups: [{ params: all }], steps: 4, factors, clip: 0.5 },
    { name: 'sgd_momentum', kind: 'sgd', options: { ...sgdOpts, dampening: 0.1 }, groups: [{ params: all }], steps: 6, factors },
    { name: 'sgd_nesterov', kind: 'sgd', options: { ...sgdOpts, nesterov: true }, groups: [{ params: all }], steps: 6, factors },
    { name: 'sgd_plain', kind: 'sgd', options: { ...sgdOpts, momentum: 0 }, groups: [{ params: all }], steps: 3, factors },
  ];

  it('match torch.optim (Adam, AdamW with groups, clipping, SGD momentum/Nesterov) under a warm-up cosine schedule', function () {
    needPython(this, ['torch']);
    const { dir, cleanup } = tempExchangeDir();
    try {
      const rng = new Rng(2);
      const items: Record<string, tf.Tensor> = {};
      const ours: Record<string, Float32Array> = {};
      for (const c of CASES) {
        const vars: Record<string, tf.Variable> = {};
        for (const [p, shape] of Object.entries(SHAPES)) {
          const init = tf.tensor(rng.normalArray(shape.reduce((a, b) => a * b, 1)), shape);
          items[`${c.name}.p.${p}`] = init;
          vars[p] = tf.variable(init);
        }
        const opt = make(c, vars);
        for (let k = 0; k < c.steps; k++) {
          const grads: Record<string, tf.Tensor> = {};
          for (const [p, shape] of Object.entries(SHAPES)) {
            const g = tf.tensor(rng.normalArray(shape.reduce((a, b) => a * b, 1), 2), shape);
            items[`${c.name}.g${k}.${p}`] = g;
            grads[vars[p].name] = tf.clone(g);
          }
          opt.setLrFactor(c.factors[k]);
          if (c.clip) clipGradNorm(grads, c.clip);
          opt.step(grads);
          tf.dispose(Object.values(grads));
          for (const p of Object.keys(SHAPES)) ours[`${c.name}.after${k}.${p}`] = vars[p].dataSync() as Float32Array;
        }
        opt.dispose();
        Object.values(vars).forEach((v) => v.dispose());
      }
      writeExchange(dir, items);
      tf.dispose(Object.values(items));
      writeFileSync(path.join(dir, 'cases.json'), JSON.stringify(CASES));
      runPythonFile(path.resolve('test/support/optim_check.py'), [dir]);
      const ref = readExchange(path.join(dir, 'out'));
      assert.equal(Object.keys(ref).length, Object.keys(ours).length);
      for (const [k, v] of Object.entries(ours)) assertClose(v, ref[k].data, 2e-5, 2e-6, k);
    } finally {
      cleanup();
    }
  });

  it('cosineWithWarmup: linear warm-up, half cosine, floor at minFactor', () => {
    const f = cosineWithWarmup({ warmupSteps: 4, totalSteps: 14, minFactor: 0.2 });
    assert.deepEqual([0, 1, 2, 3].map(f), [0.25, 0.5, 0.75, 1]);
    assert.equal(f(4), 1);
    assert.ok(Math.abs(f(9) - 0.6) < 1e-12); // halfway through the cosine: (1 + 0.2) / 2
    assert.ok(Math.abs(f(14) - 0.2) < 1e-12);
    assert.ok(Math.abs(f(100) - 0.2) < 1e-12);
    assert.throws(() => cosineWithWarmup({ warmupSteps: 5, totalSteps: 3 }), /warmupSteps/);
  });

  it('parameterGroups puts biases and norm weights in a no-decay group', () => {
    const rng = new Rng(1);
    const net = new Sequential(new Linear(3, 4, { rng }), new BatchNorm1d(4), new ReLU(), new Linear(4, 2, { rng }));
    const groups = parameterGroups(net, { weightDecay: 0.1 });
    assert.deepEqual(groups.map((g) => g.params.map(([n]) => n)), [['0.weight', '3.weight'], ['0.bias', '1.weight', '1.bias', '3.bias']]);
    assert.deepEqual(groups.map((g) => g.weightDecay), [0.1, 0]);
    net.dispose();
  });

  for (const kind of ['adamw', 'sgd'] as const) {
    it(`${kind}: a run resumed from exported state continues bit for bit`, () => {
      const rng = new Rng(4);
      const data = Array.from({ length: 8 }, () => tf.tensor(rng.normalArray(6 * 3), [6, 3]));
      const build = (seed: number) => new Sequential(new Linear(3, 5, { rng: new Rng(seed) }), new ReLU(), new Linear(5, 1, { rng: new Rng(seed + 1) }));
      const opt = (net: Sequential) =>
        kind === 'adamw' ? new AdamW(parameterGroups(net, { weightDecay: 0.05 }), { lr: 0.01 }) : new SGD(net, { lr: 0.05, momentum: 0.9, nesterov: true });
      const schedule = cosineWithWarmup({ warmupSteps: 2, totalSteps: 8 });
      const train = (net: Sequential, o: Optimizer, from: number, to: number) => {
        for (let s = from; s < to; s++) {
          o.setLrFactor(schedule(s));
          const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(net.forward(data[s]))), net.parameters());
          clipGradNorm(grads, 1);
          o.step(grads);
          tf.dispose([value, ...Object.values(grads)]);
        }
      };
      const straight = build(10);
      const o1 = opt(straight);
      train(straight, o1, 0, 8);

      const first = build(10);
      const o2 = opt(first);
      train(first, o2, 0, 4);
      const saved = optimizerStateToJSON(o2.stateDict());
      const weights = Object.fromEntries(Object.entries(first.stateDict()).map(([k, v]) => [k, tf.clone(v)]));
      const resumed = build(77); // different init, overwritten by the checkpoint
      resumed.loadStateDict(weights);
      const o3 = opt(resumed);
      o3.loadStateDict(optimizerStateFromJSON(saved));
      train(resumed, o3, 4, 8);

      for (const [name, v] of Object.entries(straight.stateDict())) {
        assert.deepEqual(Array.from(resumed.stateDict()[name].dataSync()), Array.from(v.dataSync()), `${name} differs after resume`);
      }
      assert.deepEqual(o3.stateDict().steps, o1.stateDict().steps);
      [straight, first, resumed].forEach((n) => n.dispose());
      [o1, o2, o3].forEach((o) => o.dispose());
      tf.dispose([...data, ...Object.values(weights)]);
    });
  }

  it('rejects mismatched state and bad hyper-parameters with clear errors', () => {
    const a = new Linear(2, 2);
    const b = new Linear(3, 2);
    const oa = new Adam(a);
    const { grads, value } = tf.variableGrads(() => tf.sum(a.forward(tf.ones([1, 2]))), a.parameters());
    oa.step(grads);
    tf.dispose([value, ...Object.values(grads)]);
    assert.throws(() => new SGD(b, { lr: 0.1 }).loadStateDict(oa.stateDict()), /'adam', this optimizer is 'sgd'/);
    assert.throws(() => new Adam(b).loadStateDict(oa.stateDict()), /buffer 'weight\.exp_avg' is \[2,2\], the parameter is \[2,3\]/);
    assert.throws(() => new Adam(a, { lr: -1 }), /lr must be ≥ 0/);
    assert.throws(() => new SGD(a, { lr: 0.1, nesterov: true }), /Nesterov/);
    oa.dispose();
    a.dispose();
    b.dispose();
  });
});
