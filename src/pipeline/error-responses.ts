import { ApiKey } from '../../codec/messages/generated/apis.js'
import type { ProduceRequest } from '../../codec/messages/generated/produce-request.js'
import type { ProduceResponse } from '../../codec/messages/generated/produce-response.js'
import type { DecodedRequest } from './filter-api.js'

/**
 * Builds the response a broker would send if it rejected every part of `req` with `errorCode`, for the APIs
 * where filters reject requests. Returns undefined for APIs it cannot express an error for (the runtime then
 * closes the connection instead).
 */
export function buildErrorResponse(req: DecodedRequest, errorCode: number, message: string | undefined): unknown {
  switch (req.apiKey) {
    case ApiKey.Produce:
      return produceError(req.body as ProduceRequest, req.apiVersion, errorCode, message)
    default:
      return undefined
  }
}

/**
 * Every partition of the request gets the error. From v8 the partition response carries RecordErrors and an
 * ErrorMessage (KIP-467), which Java and librdkafka show to the application; earlier versions carry only the
 * code. Offsets are -1 as in the broker's error responses (ProduceResponse.json defaults).
 */
function produceError(
  req: ProduceRequest,
  version: number,
  errorCode: number,
  message: string | undefined,
): ProduceResponse {
  return {
    throttleTimeMs: 0,
    responses: req.topicData.map((t) => ({
      ...(version >= 13 ? { topicId: t.topicId } : { name: t.name }),
      partitionResponses: t.partitionData.map((p) => ({
        index: p.index,
        errorCode,
        baseOffset: -1n,
        logAppendTimeMs: -1n,
        ...(version >= 5 ? { logStartOffset: -1n } : {}),
        ...(version >= 8
          ? {
              recordErrors: message ? [{ batchIndex: 0, batchIndexErrorMessage: message }] : [],
              errorMessage: message ?? null,
            }
          : {}),
      })),
    })),
  }
}
