/**
 * The decimal digits (ASCII) of the offset header's value, for copies whose offsets follow one another: a copy's
 * offset is most often the previous copy's plus one, so the digits are incremented in place (a carry now and then)
 * instead of computed again from the number, which took a division per digit, twice (count, then write), for
 * every tapped record.
 */
export class OffsetDigits {
  /** The digits of the current value, most significant first, in digits[0, count). */
  readonly digits = new Uint8Array(20)
  count = 0
  private value = -1

  /** Moves to `n`, a non-negative safe integer. */
  set(n: number): void {
    if (n === this.value + 1 && this.value >= 0) this.increment()
    else this.compute(n)
    this.value = n
  }

  private increment(): void {
    const d = this.digits
    let i = this.count - 1
    while (i >= 0 && d[i] === 0x39) {
      d[i] = 0x30
      i--
    }
    if (i >= 0) {
      d[i]!++
      return
    }
    // All nines: one more digit, a 1 followed by the zeros.
    d[this.count] = 0x30
    d[0] = 0x31
    this.count++
  }

  private compute(n: number): void {
    let count = 1
    for (let m = n; m >= 10; m = Math.floor(m / 10)) count++
    const d = this.digits
    for (let i = count - 1; i >= 0; i--) {
      const q = Math.floor(n / 10)
      d[i] = 0x30 + (n - q * 10)
      n = q
    }
    this.count = count
  }
}
