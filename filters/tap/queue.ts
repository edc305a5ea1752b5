/**
 * What the tap may hold at once, in bytes and in records: everything between the copy taken from a client's
 * message and the tap cluster's acknowledgement (records waiting to be extracted, records the tap producer is
 * sending or retrying). A copy that does not fit is not taken: it is dropped and counted, so a slow or dead tap
 * cluster costs the clients' traffic nothing but the drop.
 */
export class TapBudget {
  private heldBytes = 0
  private heldRecords = 0

  constructor(
    private maxBytes: number,
    private maxRecords: number,
    private readonly changed: (bytes: number, records: number) => void = () => {},
  ) {}

  get bytes(): number {
    return this.heldBytes
  }

  get records(): number {
    return this.heldRecords
  }

  /** New limits (a reload); what is held stays held, and new copies wait until it fits. */
  resize(maxBytes: number, maxRecords: number): void {
    this.maxBytes = maxBytes
    this.maxRecords = maxRecords
  }

  /** Takes room for a copy; false (nothing taken) when it does not fit. */
  take(bytes: number, records: number): boolean {
    if (this.heldBytes + bytes > this.maxBytes || this.heldRecords + records > this.maxRecords) return false
    this.heldBytes += bytes
    this.heldRecords += records
    this.changed(this.heldBytes, this.heldRecords)
    return true
  }

  /** Takes room that must be taken (memory already in use, e.g. a batch just decompressed): may exceed the limits. */
  force(bytes: number, records: number): void {
    this.heldBytes += bytes
    this.heldRecords += records
    this.changed(this.heldBytes, this.heldRecords)
  }

  release(bytes: number, records: number): void {
    this.heldBytes = Math.max(0, this.heldBytes - bytes)
    this.heldRecords = Math.max(0, this.heldRecords - records)
    this.changed(this.heldBytes, this.heldRecords)
  }
}
