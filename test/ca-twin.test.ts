/**
 * The contrastive-analysis models ↔ their PyTorch twins (interop/python/geoclr_torch/contrastive.py): a seeded
 * geoclr SepCLRModel's state_dict loads into the twin with load_state_dict(strict=True) and gives the same four
 * outputs (eval mode, perturbed running statistics), and the twin's float32 SepCLR loss equals geoclr's sepCLR on
 * the same heads — what the `ca` benchmark compares relies on both.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as g from 'geoclr';
import { needPython, runPython } from './support/peers.js';
import { readExchange, tempExchangeDir, writeExchange } from './support/exchange.js';

const { tf } = g;
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function maxRel(a: ArrayLike<number>, e: ArrayLike<number>): number {
  let scale = 1e-6;
  let d = 0;
  for (let i = 0; i < e.length; i++) {
    scale = Math.max(scale, Math.abs(e[i]));
    d = Math.max(d, Math.abs(a[i] - e[i]));
  }
  return Number.isNaN(d) || a.length !== e.length ? Infinity : d / scale;
}

describe('SepCLRModel ↔ PyTorch twin', () => {
  for (const shared of [false, true]) {
    it(`${shared ? 'shared backbone' : 'two encoders'}: same outputs after load_state_dict(strict=True), same SepCLR loss`, function () {
      needPython(this, ['torch']);
      const encoder = { arch: 'convnet2d', widths: [4, 8], pooling: 'flatten', inputShape: [12, 12] };
      const model = new g.SepCLRModel({ encoder, commonDim: 5, salientDim: 3, sharedBackbone: shared, projector: { hidden: 16 } }, { seed: 2 });
      const rng = new g.Rng(7);
      for (const [name, b] of model.namedBuffers()) {
        if (name.endsWith('running_mean')) b.assign(tf.tensor(rng.normalArray(b.size, 0.1), b.shape));
        if (name.endsWith('running_var')) b.assign(tf.tensor(Float32Array.from({ length: b.size }, () => rng.uniform(0.5, 1.5)), b.shape));
      }
      model.eval();
      const x = tf.tensor(rng.normalArray(6 * 144), [6, 12, 12, 1]);
      const out = model.forward(x);
      const group = [0, 1, 1, 0, 1, 0];
      const half = (t: g.tf.Tensor2D, v: number) => tf.slice(t, [v * 3, 0], [3, -1]) as g.tf.Tensor2D;
      const loss = g.sepCLR({ c1: half(out.commonHead, 0), c2: half(out.commonHead, 1), s1: half(out.salientHead, 0), s2: half(out.salientHead, 1), group: group.slice(0, 3) }, { betaSalient: 1, betaReg: 10 });
      const { dir, cleanup } = tempExchangeDir('geoclr-ca-twin-');
      try {
        const items: Record<string, g.tf.Tensor> = { x };
        for (const [k, v] of Object.entries(model.stateDict())) items[`state.${k}`] = v;
        writeExchange(dir, items);
        writeFileSync(path.join(dir, 'cfg.json'), JSON.stringify({ encoder, shared }));
        runPython(
          `
import json, os, sys, torch
sys.path.insert(0, os.path.join(${JSON.stringify(REPO)}, "interop", "python"))
sys.path.insert(0, os.path.join(${JSON.stringify(REPO)}, "test", "support"))
from exchange import read_exchange, write_exchange
from geoclr_torch import SepCLRModel, sep_clr_loss
d = sys.argv[1]
cfg = json.load(open(os.path.join(d, "cfg.json")))
a = read_exchange(d)
m = SepCLRModel(cfg["encoder"], 5, 3, shared_backbone=cfg["shared"], hidden=16)
state = {k[6:]: torch.tensor(v) for k, v in a.items() if k.startswith("state.")}
for k, v in m.state_dict().items():
    if v.dtype == torch.int64:
        state[k] = state[k].to(torch.int64)
m.load_state_dict(state, strict=True)
m.eval()
with torch.no_grad():
    c, s, ch, sh = m(torch.tensor(a["x"]).permute(0, 3, 1, 2))
    total, _ = sep_clr_loss(ch[:3], ch[3:], sh[:3], sh[3:], torch.tensor([0, 1, 1]), beta_salient=1, beta_reg=10)
os.makedirs(os.path.join(d, "out"), exist_ok=True)
write_exchange(os.path.join(d, "out"), {"c": c.numpy(), "s": s.numpy(), "ch": ch.numpy(), "sh": sh.numpy(), "loss": total.reshape(1).numpy()})
`,
          [dir],
        );
        const ref = readExchange(path.join(dir, 'out'));
        for (const [k, t] of [['c', out.common], ['s', out.salient], ['ch', out.commonHead], ['sh', out.salientHead]] as const) {
          const e = maxRel(t.dataSync(), ref[k].data);
          assert.ok(e < 1e-4, `${k}: relative difference ${e}`);
        }
        const e = maxRel([loss.total.dataSync()[0]], ref.loss.data);
        assert.ok(e < 1e-4, `loss ${loss.total.dataSync()[0]} vs ${ref.loss.data[0]}`);
      } finally {
        cleanup();
        tf.dispose([x, ...Object.values(out), ...Object.values(loss)]);
        model.dispose();
      }
    });
  }
});
