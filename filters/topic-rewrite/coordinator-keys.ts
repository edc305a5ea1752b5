import type { FindCoordinatorRequest } from '../../codec/messages/generated/find-coordinator-request.js'
import type { FindCoordinatorResponse } from '../../codec/messages/generated/find-coordinator-response.js'
import type { NameKind } from './carrier-walker.js'

/**
 * FindCoordinator keys: a group id or a transactional id, told apart by KeyType (FindCoordinatorRequest.json:
 * 0 group, 1 transaction, 2 share; the spec gives the key no entityType because it depends on KeyType). When group or
 * transactional ids are mapped, the coordinator must be found for the mapped id, or the client would send JoinGroup
 * or InitProducerId to a broker that is not the coordinator of the id that arrives there. Share keys
 * ("group:topicId:partition", KIP-932) are the share coordinator's own and stay as they are.
 */

/** KeyType (CoordinatorType in kafka-clients FindCoordinatorRequest): GROUP 0, TRANSACTION 1. */
export function coordinatorKeyKind(keyType: number | undefined): NameKind | undefined {
  const t = keyType ?? 0 // v0 has no KeyType: groups only
  return t === 0 ? 'group' : t === 1 ? 'txn' : undefined
}

export type KeyMap = (kind: NameKind, key: string) => string | undefined

/** Maps the request's key (v0-3) or keys (v4+, KIP-699); true when one changed. */
export function mapCoordinatorRequest(body: FindCoordinatorRequest, map: KeyMap): boolean {
  const kind = coordinatorKeyKind(body.keyType)
  if (kind === undefined) return false
  let changed = false
  if (body.key !== undefined) {
    const out = map(kind, body.key)
    if (out !== undefined && out !== body.key) {
      body.key = out
      changed = true
    }
  }
  if (body.coordinatorKeys !== undefined) {
    body.coordinatorKeys = body.coordinatorKeys.map((k) => {
      const out = map(kind, k) ?? k
      if (out !== k) changed = true
      return out
    })
  }
  return changed
}

/** Maps the keys of a v4+ response back, by the KeyType of the request it answers; v0-3 responses carry no key. */
export function mapCoordinatorResponse(
  body: FindCoordinatorResponse,
  request: FindCoordinatorRequest | undefined,
  map: KeyMap,
): boolean {
  const kind = coordinatorKeyKind(request?.keyType)
  if (kind === undefined || body.coordinators === undefined) return false
  let changed = false
  for (const c of body.coordinators) {
    const out = map(kind, c.key)
    if (out !== undefined && out !== c.key) {
      c.key = out
      changed = true
    }
  }
  return changed
}
