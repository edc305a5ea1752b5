/**
 * A tagged field the codec has no definition for (a newer broker or client added it). It is kept as its
 * raw bytes so that decode then encode gives back exactly the bytes that arrived (KIP-482: receivers
 * must ignore tags they do not know, and a proxy must not drop them).
 */
export interface RawTaggedField {
  tag: number
  data: Buffer
}
