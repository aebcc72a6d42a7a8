import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { tf, FileFormatError, ShapeError, ValueError } from 'geoclr';
import {
  assignStateDict,
  loadSafetensors,
  loadStateDict,
  readSafetensors,
  readSafetensorsHeader,
  saveSafetensors,
  toSafetensors,
  convKernelFromTorch,
  convKernelToTorch,
} from 'geoclr/interop';
import { floatToBfloat16, floatToHalf, halfToFloat, bfloat16ToFloat } from '../interop/dtypes.js';
import { needPython, runPython } from './support/peers.js';
import { assertClose, assertNoLeak } from './support/tf.js';

const PYDIR = path.resolve('interop/python');
const PY_PRELUDE = `import sys, json; sys.path.insert(0, ${JSON.stringify(PYDIR)}); import torch; from geoclr_torch import safetensors_lite as st\n`;

/** A safetensors file from a raw header object and data bytes (for malformed-input tests). */
function rawFile(header: unknown, data: Uint8Array | number, headerText?: string): Uint8Array {
  const json = Buffer.from(headerText ?? JSON.stringify(header));
  const bytes = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + json.length + bytes.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(bytes, 8 + json.length);
  return out;
}

describe('interop: safetensors', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'geoclr-st-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('f16 / bf16 conversions round to nearest even and widen exactly', () => {
    // 1 + 2^-11 is halfway between two halves: ties go to the even mantissa (1.0); 1 + 3·2^-11 rounds up.
    assert.equal(halfToFloat(floatToHalf(1 + 2 ** -11)), 1);
    assert.equal(halfToFloat(floatToHalf(1 + 3 * 2 ** -11)), 1 + 2 ** -9);
    assert.equal(floatToHalf(65520), 0x7c00); // rounds to +Inf
    assert.equal(halfToFloat(floatToHalf(2 ** -24)), 2 ** -24); // smallest subnormal
    assert.ok(Object.is(halfToFloat(floatToHalf(-0)), -0), 'the sign of zero survives');
    assert.ok(Number.isNaN(halfToFloat(floatToHalf(NaN))));
    assert.equal(bfloat16ToFloat(floatToBfloat16(1 + 2 ** -8)), 1);
    assert.equal(bfloat16ToFloat(floatToBfloat16(1 + 3 * 2 ** -8)), 1 + 2 ** -6);
    assert.ok(Number.isNaN(bfloat16ToFloat(floatToBfloat16(NaN))));
  });

  it('round-trips every dtype through a file, with metadata, without leaking', async () => {
    const file = path.join(dir, 'all.safetensors');
    const vals = [0.1, -2.5, 3.25, 1e-3, 65504, -7.75];
    const src = {
      f32: tf.tensor(vals, [2, 3]),
      f16: tf.tensor(vals, [3, 2]),
      bf16: tf.tensor(vals, [6]),
      i64: tf.tensor([-3, 2147483647, -2147483648], [3], 'int32'),
      i32: tf.tensor([[1, -2], [3, 4]], [2, 2], 'int32'),
      u8: tf.tensor([0, 7, 255], [3], 'int32'),
      flag: tf.tensor([true, false, true], [3], 'bool'),
      scalar: tf.scalar(4.5),
      empty: tf.zeros([0, 4]),
    };
    await saveSafetensors(file, src, { format: 'pt', note: 'héllo' }, { dtypes: { f16: 'F16', bf16: 'BF16', i64: 'I64', u8: 'U8' } });
    const loaded = await assertNoLeak(async () => {
      const l = await loadSafetensors(file);
      const n = l.tensors.size;
      assert.equal(tf.memory().numTensors >= n, true);
      for (const t of l.tensors.values()) t.dispose();
      return l;
    }, 'load + dispose');
    assert.deepEqual(loaded.metadata, { format: 'pt', note: 'héllo' });
    assert.equal(loaded.dtypes.get('f16'), 'F16');
    assert.equal(loaded.dtypes.get('i64'), 'I64');
    const again = await loadSafetensors(file);
    const get = (k: string) => again.tensors.get(k)!;
    assert.deepEqual(get('f32').shape, [2, 3]);
    assert.deepEqual(Array.from(get('f32').dataSync()), Array.from(Float32Array.from(vals)));
    assert.deepEqual(Array.from(get('f16').dataSync()), vals.map((v) => halfToFloat(floatToHalf(v))));
    assert.deepEqual(Array.from(get('bf16').dataSync()), vals.map((v) => bfloat16ToFloat(floatToBfloat16(v))));
    assert.equal(get('i64').dtype, 'int32');
    assert.deepEqual(Array.from(get('i64').dataSync()), [-3, 2147483647, -2147483648]);
    assert.deepEqual(Array.from(get('u8').dataSync()), [0, 7, 255]);
    assert.equal(get('flag').dtype, 'bool');
    assert.deepEqual(Array.from(get('flag').dataSync()), [1, 0, 1]);
    assert.deepEqual(get('scalar').shape, []);
    assert.deepEqual(get('empty').shape, [0, 4]);
    for (const t of [...again.tensors.values(), ...Object.values(src)]) t.dispose();
  });

  it('int64 outside int32 is a ValueError naming the tensor; bigint64() reads it exactly', async () => {
    const data = new Uint8Array(16);
    const view = new DataView(data.buffer);
    view.setBigInt64(0, 5n, true);
    view.setBigInt64(8, 2n ** 40n, true);
    const file = path.join(dir, 'big.safetensors');
    writeFileSync(file, rawFile({ steps: { dtype: 'I64', shape: [2], data_offsets: [0, 16] } }, data));
    await assert.rejects(loadSafetensors(file), (e: unknown) => e instanceof ValueError && /'steps'.*1099511627776/.test((e as Error).message));
    const { entries } = await readSafetensors(file);
    assert.deepEqual(Array.from(entries.get('steps')!.bigint64()), [5n, 2n ** 40n]);
  });

  describe('malformed files: typed errors before allocating, same verdict as the Python reader', () => {
    const f32 = (n: number) => new Uint8Array(4 * n);
    const cases: { name: string; bytes: () => Uint8Array; match: RegExp }[] = [
      { name: 'shorter than 8 bytes', bytes: () => new Uint8Array(5), match: /shorter than the 8-byte header length/ },
      {
        name: 'header length larger than the file',
        bytes: () => {
          const b = rawFile({}, 0);
          new DataView(b.buffer).setBigUint64(0, 2n ** 60n, true); // would be an exabyte allocation if trusted
          return b;
        },
        match: /header length 1152921504606846976 exceeds the file/,
      },
      { name: 'header is not JSON', bytes: () => rawFile(null, 0, '{"a": [1,'), match: /header is not UTF-8 JSON/ },
      { name: 'header is a JSON array', bytes: () => rawFile([1, 2], 0), match: /header JSON is not an object/ },
      {
        name: 'unknown dtype',
        bytes: () => rawFile({ w: { dtype: 'Q7', shape: [1], data_offsets: [0, 4] } }, f32(1)),
        match: /unknown dtype 'Q7'|unknown or unsupported dtype 'Q7'/,
      },
      {
        name: 'shape × dtype ≠ byte length',
        bytes: () => rawFile({ w: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 20] } }, f32(5)),
        match: /'w'.*24 bytes but data_offsets/,
      },
      {
        name: 'offsets outside the file',
        bytes: () => rawFile({ w: { dtype: 'F32', shape: [1_000_000], data_offsets: [0, 4_000_000] } }, f32(2)),
        match: /'w'.*outside the data section/,
      },
      {
        name: 'overlapping ranges',
        bytes: () =>
          rawFile(
            { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } },
            f32(3),
          ),
        match: /'b'.*overlaps/,
      },
      {
        name: 'a gap between tensors',
        bytes: () =>
          rawFile(
            { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } },
            f32(3),
          ),
        match: /gap in the data section: bytes 4.8/,
      },
      {
        name: 'trailing bytes after the last tensor',
        bytes: () => rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, f32(2)),
        match: /data section holds 8 bytes but the tensors cover 4/,
      },
      {
        name: 'non-string metadata',
        bytes: () => rawFile({ __metadata__: { epoch: 3 } }, 0),
        match: /__metadata__/,
      },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const file = path.join(dir, `bad-${c.name.replace(/\W+/g, '_')}.safetensors`);
        writeFileSync(file, c.bytes());
        const before = tf.memory().numTensors;
        await assert.rejects(loadSafetensors(file), (e: unknown) => {
          assert.ok(e instanceof FileFormatError, `expected FileFormatError, got ${e}`);
          assert.equal(e.file, file);
          assert.match(e.message, c.match);
          return true;
        });
        await assert.rejects(readSafetensorsHeader(file), FileFormatError);
        assert.equal(tf.memory().numTensors, before);
      });
    }
    it('the Python reader (safetensors_lite) rejects every one of them too', function () {
      needPython(this, ['torch']);
      const files = cases.map((c) => {
        const file = path.join(dir, `py-bad-${c.name.replace(/\W+/g, '_')}.safetensors`);
        writeFileSync(file, c.bytes());
        return file;
      });
      const out = runPython(
        PY_PRELUDE +
          `for f in sys.argv[1:]:
    try:
        st.load_file(f); print('ACCEPTED', f)
    except st.SafetensorsError as e:
        print('REJECTED', str(e).replace(chr(10), ' '))`,
        files,
      );
      const lines = out.trim().split('\n');
      assert.equal(lines.length, cases.length);
      cases.forEach((c, i) => {
        assert.match(lines[i], /^REJECTED /, `the Python reader accepted: ${c.name}`);
        assert.match(lines[i], c.match, c.name);
      });
    });
  });

  it('TS → Python → TS: torch reads the same values (f16/bf16 bits equal torch rounding), and TS reads torch\'s file', async function () {
    needPython(this, ['torch']);
    const back = path.join(dir, 'from-torch.safetensors');
    const vals = Array.from({ length: 64 }, (_, i) => Math.sin(i * 1.7) * 10 ** ((i % 9) - 4));
    const file = path.join(dir, 'ts.safetensors');
    const w = tf.tensor(vals, [8, 8]);
    const idx = tf.tensor(Array.from({ length: 8 }, (_, i) => i * 1000 - 3000), [8], 'int32');
    await saveSafetensors(file, { 'enc.w': w, 'enc.h': w, 'enc.b': w, 'enc.idx': idx }, { format: 'pt' }, {
      dtypes: { 'enc.h': 'F16', 'enc.b': 'BF16', 'enc.idx': 'I64' },
    });
    const out = runPython(
      PY_PRELUDE +
        `t = st.load_file(sys.argv[1]); ref = torch.tensor(json.loads(sys.argv[2]), dtype=torch.float32).reshape(8, 8)
assert st.load_metadata(sys.argv[1]) == {'format': 'pt'}
assert t['enc.w'].dtype == torch.float32 and torch.equal(t['enc.w'], ref), 'f32'
assert t['enc.h'].dtype == torch.float16 and torch.equal(t['enc.h'].view(torch.int16), ref.half().view(torch.int16)), 'f16'
assert t['enc.b'].dtype == torch.bfloat16 and torch.equal(t['enc.b'].view(torch.int16), ref.bfloat16().view(torch.int16)), 'bf16'
assert t['enc.idx'].dtype == torch.int64 and t['enc.idx'].tolist() == [i * 1000 - 3000 for i in range(8)], 'i64'
st.save_file({k: v * 2 if v.is_floating_point() else v + 1 for k, v in t.items()}, sys.argv[3], metadata={'by': 'torch'})
print('OK')`,
      [file, JSON.stringify(vals), back],
    );
    assert.equal(out.trim(), 'OK');
    // …and back: TS reads what PyTorch wrote (torch doubled the floats and incremented the ints).
    const again = await loadSafetensors(back);
    assert.deepEqual(again.metadata, { by: 'torch' });
    assert.deepEqual([...again.dtypes], [['enc.idx', 'I64'], ['enc.w', 'F32'], ['enc.b', 'BF16'], ['enc.h', 'F16']]);
    assertClose(again.tensors.get('enc.w')!.dataSync(), vals.map((v) => Math.fround(v) * 2), 0, 0, 'F32 back from torch');
    assertClose(again.tensors.get('enc.h')!.dataSync(), vals.map((v) => halfToFloat(floatToHalf(v)) * 2), 0, 0, 'F16 back from torch');
    assert.deepEqual(Array.from(again.tensors.get('enc.idx')!.dataSync()), Array.from({ length: 8 }, (_, i) => i * 1000 - 2999));
    for (const t of again.tensors.values()) t.dispose();
    w.dispose();
    idx.dispose();
  });

  it('Python → TS → Python: values equal, and TS writes the very bytes the Python writer does', async function () {
    needPython(this, ['torch']);
    const pyFile = path.join(dir, 'py.safetensors');
    const tsFile = path.join(dir, 'ts-again.safetensors');
    runPython(
      PY_PRELUDE +
        `g = torch.Generator().manual_seed(0)
w = torch.randn(4, 3, 3, 3, generator=g)
sd = {'conv.weight': w, 'conv.bias': torch.randn(4, generator=g), 'bn.num_batches_tracked': torch.tensor(17),
      'emb.half': torch.randn(5, 2, generator=g).half(), 'emb.bf': torch.randn(3, generator=g).bfloat16(),
      'mask': torch.tensor([True, False]), 'codes': torch.tensor([0, 200, 255], dtype=torch.uint8),
      'counts': torch.tensor([[1, -1]], dtype=torch.int32), 'wide': torch.randn(2, generator=g).double()}
st.save_file(sd, sys.argv[1], metadata={'format': 'pt', 'model': 'toy'})`,
      [pyFile],
    );
    const { tensors, metadata, dtypes } = await loadSafetensors(pyFile);
    assert.deepEqual(metadata, { format: 'pt', model: 'toy' });
    assert.deepEqual(tensors.get('conv.weight')!.shape, [4, 3, 3, 3]);
    assert.deepEqual(tensors.get('bn.num_batches_tracked')!.shape, []);
    assert.equal(tensors.get('bn.num_batches_tracked')!.dataSync()[0], 17);
    // Write back with the original dtypes: the file must be byte-identical to the Python writer's.
    await saveSafetensors(tsFile, tensors, metadata, { dtypes: Object.fromEntries(dtypes) });
    assert.ok(Buffer.from(readFileSync(tsFile)).equals(readFileSync(pyFile)), 'TS and Python files differ');
    const out = runPython(
      PY_PRELUDE +
        `a = st.load_file(sys.argv[1]); b = st.load_file(sys.argv[2])
assert a.keys() == b.keys()
for k in a: assert a[k].dtype == b[k].dtype and torch.equal(a[k], b[k]), k
print('OK')`,
      [pyFile, tsFile],
    );
    assert.equal(out.trim(), 'OK');
    for (const t of tensors.values()) t.dispose();
  });

  it('a failed save leaves no file behind; bad tensors and names are ValueErrors', async () => {
    const file = path.join(dir, 'sub', 'never.safetensors');
    const dead = tf.scalar(1);
    dead.dispose();
    await assert.rejects(saveSafetensors(file, { ok: tf.scalar(2), dead }), ValueError);
    await assert.rejects(saveSafetensors(path.join(dir, 'x.safetensors'), { f: tf.scalar(1.5) }, {}, { dtypes: { f: 'I32' } }), /cast it/);
    await assert.rejects(saveSafetensors(path.join(dir, 'y.safetensors'), { u: tf.scalar(300, 'int32') }, {}, { dtypes: { u: 'U8' } }), /does not fit U8/);
    assert.throws(() => toSafetensors({ __metadata__: tf.scalar(1) }), /reserved/);
    assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('.') || f === 'x.safetensors' || f === 'y.safetensors'), []);
  });

  it('loadStateDict fills variables by name; strict mode lists every mismatch at once', async () => {
    const file = path.join(dir, 'sd.safetensors');
    const w = tf.tensor([[1, 2], [3, 4]]);
    const b = tf.tensor([5, 6]);
    await saveSafetensors(file, { 'fc.weight': w, 'fc.bias': b, 'extra.x': b });
    const vars = new Map([
      ['fc.weight', tf.variable(tf.zeros([2, 2]))],
      ['fc.bias', tf.variable(tf.zeros([3]))],
      ['fc.scale', tf.variable(tf.zeros([1]))],
    ]);
    await assert.rejects(
      loadStateDict(file, vars),
      (e: unknown) =>
        e instanceof ShapeError &&
        /missing: fc\.scale/.test(e.message) &&
        /unexpected: extra\.x/.test(e.message) &&
        /fc\.bias expects \[3\] got \[2\]/.test(e.message),
    );
    assert.deepEqual(Array.from(vars.get('fc.weight')!.dataSync()), [0, 0, 0, 0], 'strict failure changed a variable');
    const report = await loadStateDict(file, vars, { strict: false });
    assert.deepEqual(report.missing, ['fc.scale']);
    assert.deepEqual(Array.from(vars.get('fc.weight')!.dataSync()), [1, 2, 3, 4]);
    const loaded = new Map([['fc.weight', w]]);
    assert.deepEqual(assignStateDict(new Map([['fc.weight', vars.get('fc.weight')!]]), loaded), { missing: [], unexpected: [], mismatched: [] });
    for (const v of vars.values()) v.dispose();
    w.dispose();
    b.dispose();
  });

  it('conv kernel layouts: tfjs [k…, in, out] ↔ PyTorch [out, in, k…] are inverse', () => {
    const k = tf.randomNormal([3, 5, 2, 4, 6]); // 3D kernel: kd, kh, kw, in, out
    const t = convKernelToTorch(k);
    assert.deepEqual(t.shape, [6, 4, 3, 5, 2]);
    const back = convKernelFromTorch(t);
    assert.deepEqual(Array.from(back.dataSync()), Array.from(k.dataSync()));
    tf.dispose([k, t, back]);
  });
});

