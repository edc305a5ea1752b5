/**
 * Kubernetes resource quantities (`250m`, `128Mi`, `1.5`, `2e3`), as far as the injector checks them: the
 * annotations that set the sidecar's resources are read here so that a typo is refused when the pod is created,
 * with the annotation's name, rather than by the API server's validation of a field the user never wrote.
 *
 * Grammar (k8s.io/apimachinery/pkg/api/resource/quantity.go, the comment above `type Quantity`):
 *   <quantity> ::= <signedNumber><suffix>
 *   <suffix>   ::= <binarySI> | <decimalExponent> | <decimalSI>
 *   <binarySI> ::= Ki | Mi | Gi | Ti | Pi | Ei
 *   <decimalSI> ::= m | "" | k | M | G | T | P | E
 *   <decimalExponent> ::= "e" <signedNumber> | "E" <signedNumber>
 * Negative values are valid quantities but never valid resources, so they are refused here.
 */

const QUANTITY = /^(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[mkMGTPE]|[eE][+-]?\d+)?$/

const SUFFIX_FACTORS: Readonly<Record<string, number>> = {
  '': 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
}

/** The quantity's value as a number (approximate for huge values), or undefined when it is not a quantity. */
export function parseQuantity(text: string): number | undefined {
  const m = QUANTITY.exec(text)
  if (m === null) return undefined
  const number = Number(m[1])
  const suffix = m[2] ?? ''
  if (/^[eE][+-]?\d/.test(suffix)) return number * 10 ** Number(suffix.slice(1))
  return number * SUFFIX_FACTORS[suffix]!
}
