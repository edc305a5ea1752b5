import { errorResponse } from '../../codec/messages/error-response.js'
import type { DecodedRequest } from './filter-api.js'

/**
 * The response a broker would send if it rejected every part of `req` with `errorCode`: every error field of
 * the response set, the request's topics, partitions, resources and groups mirrored, `message` in every error
 * message field the version carries (codec/messages/error-response.ts builds it for every API and version).
 */
export function buildErrorResponse(req: DecodedRequest, errorCode: number, message: string | undefined): unknown {
  return errorResponse(req.apiKey, req.apiVersion, req.body, errorCode, message)
}
