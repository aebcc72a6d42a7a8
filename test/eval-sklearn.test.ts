// Probes and metrics checked against scikit-learn / SciPy (Debian python3-sklearn) on random and tied inputs.
import assert from 'node:assert/strict';
import {
  Rng,
  fitRidge,
  fitLogistic,
  fitKnnClassifier,
  fitKnnRegressor,
  toMatrix,
  meanAbsoluteError,
  rootMeanSquaredError,
  r2Score,
  accuracyScore,
  balancedAccuracy,
  rocAuc,
  rocAucOvr,
  spearman,
  pearson,
  studentTQuantile,
  fitStandardizer,
  applyStandardizer,
} from 'geoclr';
import { needPython, runPython } from './support/peers.js';
import { assertClose } from './support/tf.js';

function randomMatrix(rng: Rng, n: number, d: number, scale = 1): number[][] {
  return Array.from({ length: n }, () => Array.from({ length: d }, () => rng.normal() * scale));
}

/** Runs a Python snippet that reads JSON `inp` from stdin and prints JSON. */
function py(body: string, inp: unknown): any {
  const script = `import sys, json\nimport numpy as np\ninp = json.load(sys.stdin)\n${body}`;
  return JSON.parse(runPython(script, [], JSON.stringify(inp)));
}

describe('evaluation vs scikit-learn', function () {
  before(function () {
    needPython(this, ['sklearn', 'scipy']);
  });

  it('metrics equal sklearn/scipy on random and tied inputs', () => {
    const rng = new Rng(11);
    const n = 57;
    const yTrue = Array.from({ length: n }, () => rng.normal(50, 10));
    const yPred = yTrue.map((v) => v + rng.normal(0, 6));
    // Tied scores and labels: rounded values create many ties.
    const tiedScores = Array.from({ length: n }, () => Math.round(rng.uniform(0, 4)));
    const bin = Array.from({ length: n }, (_, i) => (rng.next() < 0.3 + 0.1 * tiedScores[i] ? 1 : 0));
    const cls = Array.from({ length: n }, () => rng.int(0, 3));
    const clsPred = cls.map((c) => (rng.next() < 0.6 ? c : rng.int(0, 3)));
    const proba = Array.from({ length: n }, (_, i) => {
      const z = [0, 1, 2].map((c) => (c === cls[i] ? 1 : 0) + rng.normal());
      const s = z.reduce((a, b) => a + Math.exp(b), 0);
      return z.map((v) => Math.exp(v) / s);
    });
    const tiedX = tiedScores;
    const tiedY = Array.from({ length: n }, () => Math.round(rng.uniform(0, 3)));
    const ref = py(
      `from sklearn import metrics as M
from scipy import stats
o = {}
o['mae'] = M.mean_absolute_error(inp['yTrue'], inp['yPred'])
o['rmse'] = M.mean_squared_error(inp['yTrue'], inp['yPred']) ** 0.5
o['r2'] = M.r2_score(inp['yTrue'], inp['yPred'])
o['acc'] = M.accuracy_score(inp['cls'], inp['clsPred'])
o['bacc'] = M.balanced_accuracy_score(inp['cls'], inp['clsPred'])
o['auc_tied'] = M.roc_auc_score(inp['bin'], inp['tiedScores'])
o['auc_ovr'] = M.roc_auc_score(inp['cls'], np.array(inp['proba']), multi_class='ovr', average='macro')
o['spearman'] = stats.spearmanr(inp['yTrue'], inp['yPred']).correlation
o['spearman_tied'] = stats.spearmanr(inp['tiedX'], inp['tiedY']).correlation
o['pearson'] = stats.pearsonr(inp['yTrue'], inp['yPred'])[0]
o['t'] = [stats.t.ppf(0.975, df) for df in [1, 2, 4, 9, 29, 200]]
print(json.dumps(o))`,
      { yTrue, yPred, cls, clsPred, bin, tiedScores, proba, tiedX, tiedY },
    );
    const ours = {
      mae: meanAbsoluteError(yTrue, yPred),
      rmse: rootMeanSquaredError(yTrue, yPred),
      r2: r2Score(yTrue, yPred),
      acc: accuracyScore(cls, clsPred),
      bacc: balancedAccuracy(cls, clsPred),
      auc_tied: rocAuc(bin, tiedScores),
      auc_ovr: rocAucOvr(cls, toMatrix(proba)),
      spearman: spearman(yTrue, yPred),
      spearman_tied: spearman(tiedX, tiedY),
      pearson: pearson(yTrue, yPred),
    };
    for (const [k, v] of Object.entries(ours)) assert.ok(Math.abs(v - ref[k]) < 1e-12, `${k}: ${v} vs sklearn ${ref[k]}`);
    const t = [1, 2, 4, 9, 29, 200].map((df) => studentTQuantile(0.975, df));
    assertClose(t, ref.t, 1e-9, 1e-9, 't quantiles');
  });

  it('ridge coefficients and predictions equal sklearn Ridge (primal n > d and dual n < d)', () => {
    const rng = new Rng(3);
    for (const [n, d, alpha] of [
      [80, 12, 0.7],
      [15, 40, 2.5],
    ] as const) {
      const X = randomMatrix(rng, n, d);
      const w = Array.from({ length: d }, () => rng.normal());
      const y = X.map((r) => r.reduce((s, v, j) => s + v * w[j], 3) + rng.normal(0, 0.5));
      const Xt = randomMatrix(rng, 10, d);
      const ref = py(
        `from sklearn.linear_model import Ridge
m = Ridge(alpha=inp['alpha'], solver='cholesky').fit(np.array(inp['X']), np.array(inp['y']))
print(json.dumps({'coef': m.coef_.tolist(), 'b': float(m.intercept_), 'pred': m.predict(np.array(inp['Xt'])).tolist()}))`,
        { X, y, Xt, alpha },
      );
      const m = fitRidge(toMatrix(X), y, { alpha });
      assertClose(m.coef, ref.coef, 1e-9, 1e-10, `ridge coef n=${n} d=${d}`);
      assert.ok(Math.abs(m.intercept - ref.b) < 1e-9, `intercept ${m.intercept} vs ${ref.b}`);
      assertClose(m.predict(toMatrix(Xt)), ref.pred, 1e-9, 1e-9, 'ridge predictions');
    }
  });

  it('logistic regression equals sklearn lbfgs, and the Newton-polished optimum to 1e-8 (binary, multinomial, class weights)', () => {
    const rng = new Rng(5);
    const cases = [
      { n: 120, d: 6, K: 2, C: 0.5, classWeight: null },
      { n: 150, d: 8, K: 3, C: 2, classWeight: null },
      { n: 140, d: 5, K: 4, C: 0.1, classWeight: 'balanced' },
      { n: 90, d: 4, K: 2, C: 1, classWeight: 'balanced' },
    ] as const;
    for (const c of cases) {
      const X = randomMatrix(rng, c.n, c.d);
      const W = randomMatrix(rng, c.K, c.d);
      // Imbalanced classes: scores shifted so class 0 dominates.
      const y = X.map((r) => {
        const z = W.map((wk, k) => wk.reduce((s, v, j) => s + v * r[j], 0) + rng.normal() + (k === 0 ? 1 : 0));
        return z.indexOf(Math.max(...z));
      });
      const Xt = randomMatrix(rng, 12, c.d);
      // sklearn's lbfgs stops on its own criteria (|grad| ~1e-5 here); a few exact Newton steps on the same
      // objective, Σ sᵢℓᵢ + ‖W‖²/2C, give the optimum itself to float64 precision.
      const ref = py(
        `from sklearn.linear_model import LogisticRegression
from sklearn.utils.class_weight import compute_sample_weight
X = np.array(inp['X']); y = np.array(inp['y']); C = inp['C']; Xt = np.array(inp['Xt'])
m = LogisticRegression(C=C, solver='lbfgs', tol=1e-12, max_iter=100000, class_weight=inp['cw']).fit(X, y)
sw = compute_sample_weight(inp['cw'], y) if inp['cw'] else np.ones(len(y))
Xa = np.hstack([X, np.ones((len(X), 1))]); Ta = np.hstack([Xt, np.ones((len(Xt), 1))])
K = len(m.classes_); R = K if K > 2 else 1; P = Xa.shape[1]
theta = np.hstack([m.coef_, m.intercept_[:, None]])
Y = np.eye(K)[y] if K > 2 else y[:, None].astype(float)
def probs(A, th):
    z = A @ th.T
    if K == 2: return 1 / (1 + np.exp(-z))
    z = z - z.max(1, keepdims=True); e = np.exp(z); return e / e.sum(1, keepdims=True)
pen = np.ones(P); pen[-1] = 0
for it in range(8):
    p = probs(Xa, theta)
    g = ((p - Y) * sw[:, None]).T @ Xa + theta * pen / C
    H = np.zeros((R * P, R * P))
    for a in range(R):
        for b in range(R):
            if K == 2: wab = p[:, 0] * (1 - p[:, 0])
            else: wab = p[:, a] * ((a == b) - p[:, b])
            H[a*P:(a+1)*P, b*P:(b+1)*P] = Xa.T @ (Xa * (wab * sw)[:, None])
        H[a*P:(a+1)*P, a*P:(a+1)*P] += np.diag(pen / C)
    theta = theta - np.linalg.lstsq(H, g.reshape(-1), rcond=None)[0].reshape(R, P)
pt = probs(Ta, theta)
polished = np.hstack([1 - pt, pt]) if K == 2 else pt
print(json.dumps({'sk': m.predict_proba(Xt).tolist(), 'proba': polished.tolist(), 'coef': theta[:, :-1].tolist(), 'b': (theta[:, -1] - theta[:, -1].mean() * (K > 2)).tolist()}))`,
        { X, y, Xt, C: c.C, cw: c.classWeight },
      );
      const m = fitLogistic(toMatrix(X), y, { C: c.C, classWeight: c.classWeight, tol: 1e-11, maxIter: 5000 });
      assert.ok(m.converged, `did not converge (${m.iterations} iterations)`);
      const proba = m.predictProba(toMatrix(Xt)).data;
      assertClose(proba, ref.sk.flat(), 0, 1e-4, `vs sklearn proba K=${c.K} C=${c.C} ${c.classWeight}`);
      assertClose(proba, ref.proba.flat(), 0, 1e-8, `vs optimum proba K=${c.K} C=${c.C} ${c.classWeight}`);
      assertClose(m.coef.data, ref.coef.flat(), 1e-7, 1e-8, `coef K=${c.K}`);
      assertClose(m.intercept, ref.b, 1e-7, 1e-8, `intercept K=${c.K}`);
    }
  });

  it('standardised logistic probe equals a sklearn StandardScaler + LogisticRegression pipeline', () => {
    const rng = new Rng(9);
    const X = randomMatrix(rng, 100, 5).map((r) => r.map((v, j) => v * (j + 1) * 10 + j));
    const y = X.map((r) => (r[0] / 10 + r[2] / 30 + rng.normal() > 0 ? 'b' : 'a'));
    const ref = py(
      `from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.linear_model import LogisticRegression
m = make_pipeline(StandardScaler(), LogisticRegression(C=0.3, tol=1e-12, max_iter=100000)).fit(np.array(inp['X']), inp['y'])
print(json.dumps({'proba': m.predict_proba(np.array(inp['X'])).tolist()}))`,
      { X, y },
    );
    const s = fitStandardizer(toMatrix(X));
    const xs = applyStandardizer(toMatrix(X), s);
    const m = fitLogistic(xs, y, { C: 0.3, tol: 1e-10 });
    assert.deepEqual(m.classes, ['a', 'b']);
    assertClose(m.predictProba(xs).data, ref.proba.flat(), 0, 1e-4, 'pipeline proba (sklearn lbfgs tolerance)');
  });

  it('k-NN predictions equal sklearn (cosine/euclidean, uniform/distance weights)', () => {
    const rng = new Rng(21);
    const X = randomMatrix(rng, 70, 7);
    const Xt = randomMatrix(rng, 25, 7);
    const yc = X.map((r) => (r[0] > 0.5 ? 2 : r[1] > 0 ? 1 : 0));
    const yr = X.map((r) => r[0] * 3 + r[1]);
    const configs = (['cosine', 'euclidean'] as const).flatMap((metric) => (['uniform', 'distance'] as const).map((weights) => ({ metric, weights })));
    const refs = py(
      `from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
out = []
Xt = np.array(inp['Xt'])
for cfg in inp['configs']:
    kw = dict(n_neighbors=5, metric=cfg['metric'], weights=cfg['weights'], algorithm='brute')
    c = KNeighborsClassifier(**kw).fit(np.array(inp['X']), inp['yc'])
    r = KNeighborsRegressor(**kw).fit(np.array(inp['X']), inp['yr'])
    out.append({'pred': c.predict(Xt).tolist(), 'proba': c.predict_proba(Xt).tolist(), 'reg': r.predict(Xt).tolist()})
print(json.dumps(out))`,
      { X, Xt, yc, yr, configs },
    );
    configs.forEach(({ metric, weights }, i) => {
      const ref = refs[i];
      const c = fitKnnClassifier(toMatrix(X), yc, { k: 5, metric, weights });
      const r = fitKnnRegressor(toMatrix(X), yr, { k: 5, metric, weights });
      assert.deepEqual(c.predict(toMatrix(Xt)), ref.pred, `${metric}/${weights} class predictions`);
      assertClose(c.predictProba(toMatrix(Xt)).data, ref.proba.flat(), 1e-12, 1e-12, `${metric}/${weights} proba`);
      assertClose(r.predict(toMatrix(Xt)), ref.reg, 1e-10, 1e-10, `${metric}/${weights} regression`);
    });
  });
});
