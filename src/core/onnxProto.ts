// Why: two modules rewrite ONNX graphs (onnxSurgery.ts adds outputs, onnxPrune.ts drops them); both read the same
// few onnx.proto messages with protobufjs, declared here once: only the fields they read or write, so everything
// else in a message is skipped when decoded and kept byte for byte when a message is copied whole.

import { Root, type Type } from 'protobufjs/light';

/** onnx.proto's messages as far as they are read or written by onnxSurgery.ts and onnxPrune.ts (field numbers from onnx/onnx.proto). */
const many = (type: string, id: number) => ({ rule: 'repeated', type, id });
const SCHEMA = {
  nested: {
    ModelProto: { fields: { irVersion: { type: 'int64', id: 1 }, graph: { type: 'GraphProto', id: 7 }, opsetImport: many('OperatorSetIdProto', 8) } },
    OperatorSetIdProto: { fields: { domain: { type: 'string', id: 1 }, version: { type: 'int64', id: 2 } } },
    GraphProto: {
      fields: { node: many('NodeProto', 1), name: { type: 'string', id: 2 }, initializer: many('TensorProto', 5), input: many('ValueInfoProto', 11), output: many('ValueInfoProto', 12), valueInfo: many('ValueInfoProto', 13) },
    },
    NodeProto: {
      fields: { input: many('string', 1), output: many('string', 2), name: { type: 'string', id: 3 }, opType: { type: 'string', id: 4 }, attribute: many('AttributeProto', 5), domain: { type: 'string', id: 7 } },
    },
    AttributeProto: {
      fields: { name: { type: 'string', id: 1 }, i: { type: 'int64', id: 3 }, t: { type: 'TensorProto', id: 5 }, g: { type: 'GraphProto', id: 6 }, ints: many('int64', 8), graphs: many('GraphProto', 11) },
    },
    TensorProto: {
      fields: {
        dims: many('int64', 1), dataType: { type: 'int32', id: 2 }, int32Data: many('int32', 5), int64Data: many('int64', 7),
        name: { type: 'string', id: 8 }, rawData: { type: 'bytes', id: 9 }, dataLocation: { type: 'int32', id: 14 },
      },
    },
    ValueInfoProto: { fields: { name: { type: 'string', id: 1 }, type: { type: 'TypeProto', id: 2 } } },
    TypeProto: { fields: { tensorType: { type: 'Tensor', id: 1 } }, nested: { Tensor: { fields: { elemType: { type: 'int32', id: 1 }, shape: { type: 'TensorShapeProto', id: 2 } } } } },
    TensorShapeProto: { fields: { dim: { rule: 'repeated', type: 'Dimension', id: 1 } }, nested: { Dimension: { fields: { dimValue: { type: 'int64', id: 1 }, dimParam: { type: 'string', id: 2 } } } } },
  },
};

export type Int64 = number | { toNumber(): number };
export interface TensorMsg { name?: string; dims?: Int64[]; dataType?: number; int32Data?: number[]; int64Data?: Int64[]; rawData?: Uint8Array; dataLocation?: number }
export interface AttrMsg { name?: string; i?: Int64; ints?: Int64[]; t?: TensorMsg; g?: GraphMsg; graphs?: GraphMsg[] }
export interface NodeMsg { input?: string[]; output?: string[]; name?: string; opType?: string; domain?: string; attribute?: AttrMsg[] }
export interface DimMsg { dimValue?: Int64; dimParam?: string }
export interface ValueInfoMsg { name?: string; type?: { tensorType?: { elemType?: number; shape?: { dim?: DimMsg[] } } } }
export interface GraphMsg { name?: string; node?: NodeMsg[]; initializer?: TensorMsg[]; input?: ValueInfoMsg[]; output?: ValueInfoMsg[]; valueInfo?: ValueInfoMsg[] }
export interface ModelMsg { irVersion?: Int64; opsetImport?: Array<{ domain?: string; version?: Int64 }>; graph?: GraphMsg }

let types: { model: Type; graph: Type; node: Type; valueInfo: Type } | undefined;
/** The message types, built once. */
export const schema = () => {
  if (types) return types;
  const root = Root.fromJSON(SCHEMA);
  return (types = { model: root.lookupType('ModelProto'), graph: root.lookupType('GraphProto'), node: root.lookupType('NodeProto'), valueInfo: root.lookupType('ValueInfoProto') });
};
export const num = (v: Int64 | undefined): number => (v === undefined ? 0 : typeof v === 'number' ? v : v.toNumber());
/** The graphs held in a node's attributes (an If's branches, a Loop's or Scan's body). */
export const subgraphs = (n: NodeMsg) => (n.attribute ?? []).flatMap((a) => [...(a.g ? [a.g] : []), ...(a.graphs ?? [])]);
