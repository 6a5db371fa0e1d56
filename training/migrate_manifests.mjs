// Migrates schema-1 manifests (shapes by position) to schema 2 (named axes, roles with meanings) in place.
// Run once per model folder: node training/migrate_manifests.mjs media/models/*/manifest.json
// The bundled models were migrated with it; export.py writes schema 2 directly.
import { readFileSync, writeFileSync } from 'node:fs';

const AXES = {
  input_ids: ['batch', 'position'],
  initial_state: ['layer', 'batch', 'unit'],
  logits: ['batch', 'position', 'vocab'],
  attention: ['layer', 'batch', 'head', 'query', 'key'],
  hidden_states: ['layer', 'batch', 'position', 'feature'],
  gates: ['layer', 'batch', 'position', 'gate', 'unit'],
  cell_state: ['layer', 'batch', 'position', 'unit'],
  hidden_state: ['layer', 'batch', 'position', 'unit'],
  final_state: ['layer', 'batch', 'unit'],
};
const GATES = {
  i: { meaning: 'write', label: 'input gate' },
  f: { meaning: 'keep', label: 'forget gate' },
  g: { meaning: 'candidate', label: 'cell candidate' },
  o: { meaning: 'output', label: 'output gate' },
  r: { meaning: 'reset', label: 'reset gate' },
  z: { meaning: 'keep', label: 'update gate', complementWrites: true },
  n: { meaning: 'candidate', label: 'candidate state' },
};

function axes(role, shape) {
  return AXES[role].map((name, i) => {
    const d = shape[i];
    if (d === 'B') return { name };
    return { name, size: d };
  });
}

for (const file of process.argv.slice(2)) {
  const m = JSON.parse(readFileSync(file, 'utf8'));
  if (m.schemaVersion !== 1) continue;
  const inputs = m.inputs.map(({ shape, stateOf, ...i }) => ({ ...i, axes: axes(i.role, shape), ...(stateOf ? { state: stateOf } : {}) }));
  const outputs = m.outputs.map(({ shape, stateOf, gateOrder, ...o }) => {
    const out = { ...o, axes: axes(o.role, shape) };
    if (o.role === 'attention') Object.assign(out, { role: 'mixing', structure: 'causal', normalised: true, label: 'attention' });
    if (o.role === 'cell_state') Object.assign(out, { role: 'state', state: 'c', label: 'cell state' });
    if (o.role === 'hidden_state') Object.assign(out, { role: 'state', state: 'h', label: 'hidden state' });
    if (o.role === 'final_state') out.state = stateOf;
    if (o.role === 'gates') {
      out.gates = gateOrder.map((name) => ({ name, ...GATES[name] }));
      out.state = gateOrder.includes('f') ? 'c' : 'h';
    }
    return out;
  });
  const next = {
    schemaVersion: 2,
    id: m.id,
    displayName: m.displayName,
    architecture: m.architecture,
    description: m.description,
    parameters: m.parameters,
    dimensions: m.dimensions,
    sequences: { tokens: { length: 'T', label: 'Tokens' } },
    inputs,
    outputs,
    ...Object.fromEntries(Object.entries(m).filter(([k]) => !['schemaVersion', 'id', 'displayName', 'architecture', 'description', 'parameters', 'dimensions', 'inputs', 'outputs'].includes(k))),
  };
  writeFileSync(file, JSON.stringify(next, null, 2) + '\n');
  console.log(`${file}: schema 1 → 2`);
}
