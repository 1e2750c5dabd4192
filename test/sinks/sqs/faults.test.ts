// The mapping of what the AWS SDK throws to delivery classes, with the SDK's own exception classes
// (as its JSON-protocol deserializer builds them) and Node's network errors.
import { describe, expect, it } from 'vitest';
import {
  BatchRequestTooLong,
  InvalidAttributeValue,
  InvalidMessageContents,
  InvalidSecurity,
  KmsAccessDenied,
  KmsThrottled,
  QueueDoesNotExist,
  RequestThrottled,
  SQSServiceException,
  TooManyEntriesInBatchRequest,
} from '@aws-sdk/client-sqs';
import { DeliveryError } from '../../../src/core/errors.ts';
import { describeSqsError, failedEntryError, sqsCallError } from '../../../src/sinks/sqs/faults.ts';

const meta = (httpStatusCode: number) => ({ $metadata: { httpStatusCode } });
const generic = (name: string, status: number, fault: 'client' | 'server') => new SQSServiceException({ name, $fault: fault, ...meta(status), message: `${name} happened` });
const classOf = (err: unknown) => {
  const e = sqsCallError(err);
  return [e.deliveryClass, e.code];
};

describe('SQS call errors', () => {
  it('throttling → throttled with a minimum wait', () => {
    expect(classOf(new RequestThrottled({ ...meta(400), message: 'Rate exceeded' }))).toEqual(['throttled', 'SQS_RequestThrottled']);
    expect(classOf(new KmsThrottled({ ...meta(400), message: 'KMS' }))).toEqual(['throttled', 'SQS_KmsThrottled']);
    expect(classOf(generic('ThrottlingException', 400, 'client'))).toEqual(['throttled', 'SQS_ThrottlingException']);
    expect(sqsCallError(generic('Whatever', 429, 'client'))).toMatchObject({ deliveryClass: 'throttled', retryAfterMs: 1000 });
  });

  it('5xx, server faults and transient codes → retriable', () => {
    expect(classOf(generic('InternalError', 500, 'server'))).toEqual(['retriable', 'SQS_InternalError']);
    expect(classOf(generic('ServiceUnavailable', 503, 'server'))).toEqual(['retriable', 'SQS_ServiceUnavailable']);
    expect(classOf(generic('Odd', 502, 'client'))).toEqual(['retriable', 'SQS_Odd']);
    expect(classOf(generic('RequestTimeTooSkewed', 403, 'client'))).toEqual(['retriable', 'SQS_RequestTimeTooSkewed']);
  });

  it('no reply: network errors, timeouts and aborts → retriable', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9324'), { code: 'ECONNREFUSED' });
    expect(classOf(refused)).toEqual(['retriable', 'ECONNREFUSED']);
    expect(classOf(Object.assign(new Error('getaddrinfo ENOTFOUND sqs.example'), { code: 'ENOTFOUND' }))).toEqual(['retriable', 'ENOTFOUND']);
    const abort = Object.assign(new Error('Request aborted'), { name: 'AbortError' });
    expect(classOf(abort)).toEqual(['retriable', 'TIMEOUT']);
    expect(classOf(new Error('socket hang up'))).toEqual(['retriable', 'Error']);
  });

  it('queue, credentials and keys → halt (records wait, nothing dead-lettered)', () => {
    expect(classOf(new QueueDoesNotExist({ ...meta(400), message: 'The specified queue does not exist.' }))).toEqual(['halt', 'SQS_QueueDoesNotExist']);
    // The JSON protocol's query-compatible code, as the SDK puts it in Code.
    expect(classOf(Object.assign(generic('Unknown', 400, 'client'), { Code: 'AWS.SimpleQueueService.NonExistentQueue' }))).toEqual(['halt', 'SQS_Unknown']);
    expect(classOf(new InvalidSecurity({ ...meta(403), message: 'not https' }))).toEqual(['halt', 'SQS_InvalidSecurity']);
    expect(classOf(new KmsAccessDenied({ ...meta(400), message: 'no' }))).toEqual(['halt', 'SQS_KmsAccessDenied']);
    expect(classOf(generic('InvalidClientTokenId', 403, 'client'))).toEqual(['halt', 'SQS_InvalidClientTokenId']);
    expect(classOf(generic('AccessDenied', 403, 'client'))).toEqual(['halt', 'SQS_AccessDenied']);
    expect(classOf(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }))).toEqual(['halt', 'SQS_CredentialsProviderError']);
    // A request this sink should never make: held, not dropped.
    expect(classOf(new TooManyEntriesInBatchRequest({ ...meta(400), message: 'too many' }))).toEqual(['halt', 'SQS_TooManyEntriesInBatchRequest']);
    expect(classOf(generic('SomethingNew', 400, 'client'))).toEqual(['halt', 'SQS_SomethingNew']);
  });

  it('a message the whole call is refused for → permanent (the transport then isolates it)', () => {
    expect(classOf(new InvalidMessageContents({ ...meta(400), message: 'bad' }))).toEqual(['permanent', 'SQS_InvalidMessageContents']);
    expect(classOf(new BatchRequestTooLong({ ...meta(400), message: 'long' }))).toEqual(['permanent', 'SQS_BatchRequestTooLong']);
    // ElasticMQ: InvalidAttributeValue with the reason as message
    expect(classOf(new InvalidAttributeValue({ ...meta(400), message: 'MessageTooLong' }))).toEqual(['permanent', 'SQS_InvalidAttributeValue']);
    expect(classOf(generic('Huge', 413, 'client'))).toEqual(['permanent', 'SQS_Huge']);
  });

  it('passes DeliveryErrors through and describes errors on one line with the status', () => {
    const d = new DeliveryError('retriable', 'X', 'y');
    expect(sqsCallError(d)).toBe(d);
    expect(describeSqsError(new QueueDoesNotExist({ ...meta(400), message: 'The specified queue does not exist.' }))).toBe('QueueDoesNotExist: The specified queue does not exist. (HTTP 400)');
    expect(describeSqsError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }))).toBe('ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:1');
    expect(describeSqsError(Object.assign(new Error(''), { code: 'ECONNREFUSED' }))).toBe('ECONNREFUSED');
  });
});

describe('SQS Failed[] entries', () => {
  it('SenderFault decides, except throttling and setup codes', () => {
    expect(failedEntryError({ Code: 'InvalidParameterValue', Message: 'x', SenderFault: true }).deliveryClass).toBe('permanent');
    expect(failedEntryError({ Code: 'InternalError', SenderFault: false }).deliveryClass).toBe('retriable');
    expect(failedEntryError({ Code: 'ServiceUnavailable' }).deliveryClass).toBe('retriable');
    expect(failedEntryError({ Code: 'RequestThrottled', SenderFault: true })).toMatchObject({ deliveryClass: 'throttled', retryAfterMs: 1000 });
    expect(failedEntryError({ Code: 'KmsDisabled', SenderFault: true }).deliveryClass).toBe('halt');
    expect(failedEntryError({ Code: 'InvalidMessageContents', Message: 'Invalid characters', SenderFault: true }).message).toBe('SQS refused the message: InvalidMessageContents: Invalid characters');
  });
});
