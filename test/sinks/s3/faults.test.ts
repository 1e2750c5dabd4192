// The mapping of what the AWS SDK throws for S3 to delivery classes and one-line explanations, with the
// SDK's own exception classes (as its REST-XML deserializer builds them) and Node's network errors.
import { describe, expect, it } from 'vitest';
import { AccessDenied, NoSuchBucket, NoSuchUpload, S3ServiceException } from '@aws-sdk/client-s3';
import { DeliveryError } from '../../../src/core/errors.ts';
import { bucketRegionOf, explainS3Error, s3Fault, THROTTLE_WAIT_MS } from '../../../src/sinks/s3/faults.ts';

const target = { bucket: 'unique-bucket-name', region: 'us-west-2', endpoint: undefined };
const meta = (httpStatusCode: number) => ({ $metadata: { httpStatusCode } });
const s3err = (name: string, status: number, message = `${name} happened`, extra: Record<string, unknown> = {}) =>
  Object.assign(new S3ServiceException({ name, $fault: status >= 500 ? 'server' : 'client', ...meta(status), message }), extra);
const classOf = (err: unknown) => {
  const e = s3Fault(err, target);
  return [e.deliveryClass, e.code];
};
const netErr = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:9`), { code });

describe('S3 errors → delivery classes', () => {
  it('throttling (SlowDown 503, 429) → throttled with a minimum wait', () => {
    expect(classOf(s3err('SlowDown', 503, 'Please reduce your request rate.'))).toEqual(['throttled', 'S3_SlowDown']);
    expect(s3Fault(s3err('SlowDown', 503), target)).toMatchObject({ retryAfterMs: THROTTLE_WAIT_MS });
    expect(classOf(s3err('TooManyRequests', 429))).toEqual(['throttled', 'S3_TooManyRequests']);
    expect(classOf(s3err('Whatever', 429))).toEqual(['throttled', 'S3_Whatever']);
  });

  it('5xx and transient codes → retriable', () => {
    expect(classOf(s3err('InternalError', 500))).toEqual(['retriable', 'S3_InternalError']);
    expect(classOf(s3err('ServiceUnavailable', 503))).toEqual(['retriable', 'S3_ServiceUnavailable']);
    expect(classOf(s3err('Odd', 502))).toEqual(['retriable', 'S3_Odd']);
    expect(classOf(s3err('RequestTimeout', 400))).toEqual(['retriable', 'S3_RequestTimeout']);
    expect(classOf(s3err('BadDigest', 400, 'The Content-MD5 you specified did not match what we received.'))).toEqual(['retriable', 'S3_BadDigest']);
    expect(classOf(s3err('RequestTimeTooSkewed', 403))).toEqual(['retriable', 'S3_RequestTimeTooSkewed']);
    expect(classOf(new NoSuchUpload({ ...meta(404), message: 'gone' }))).toEqual(['retriable', 'S3_NoSuchUpload']);
    expect(classOf(s3err('XMinioServerNotInitialized', 503))).toEqual(['retriable', 'S3_XMinioServerNotInitialized']);
  });

  it('network errors and timeouts (no reply) → retriable', () => {
    expect(classOf(netErr('ECONNREFUSED'))).toEqual(['retriable', 'ECONNREFUSED']);
    expect(classOf(netErr('ENOTFOUND'))).toEqual(['retriable', 'ENOTFOUND']);
    expect(classOf(netErr('ECONNRESET'))).toEqual(['retriable', 'ECONNRESET']);
    expect(classOf(Object.assign(new Error('aborted'), { name: 'AbortError' }))).toEqual(['retriable', 'TIMEOUT']);
    expect(classOf(Object.assign(new Error('timeout'), { name: 'TimeoutError' }))).toEqual(['retriable', 'TIMEOUT']);
  });

  it('setup problems → halt: permissions, bucket, credentials, region, KMS, unsupported options', () => {
    expect(classOf(new AccessDenied({ ...meta(403), message: 'Access Denied' }))).toEqual(['halt', 'S3_AccessDenied']);
    expect(classOf(new NoSuchBucket({ ...meta(404), message: 'The specified bucket does not exist' }))).toEqual(['halt', 'S3_NoSuchBucket']);
    expect(classOf(s3err('InvalidAccessKeyId', 403))).toEqual(['halt', 'S3_InvalidAccessKeyId']);
    expect(classOf(s3err('SignatureDoesNotMatch', 403))).toEqual(['halt', 'S3_SignatureDoesNotMatch']);
    expect(classOf(s3err('ExpiredToken', 400))).toEqual(['halt', 'S3_ExpiredToken']);
    expect(classOf(s3err('PermanentRedirect', 301))).toEqual(['halt', 'S3_PermanentRedirect']);
    expect(classOf(s3err('AuthorizationHeaderMalformed', 400))).toEqual(['halt', 'S3_AuthorizationHeaderMalformed']);
    expect(classOf(s3err('KMS.NotFoundException', 400))).toEqual(['halt', 'S3_KMS.NotFoundException']);
    expect(classOf(s3err('InvalidStorageClass', 400))).toEqual(['halt', 'S3_InvalidStorageClass']);
    expect(classOf(s3err('NotImplemented', 501))).toEqual(['halt', 'S3_NotImplemented']);
    expect(classOf(s3err('EntityTooLarge', 400))).toEqual(['halt', 'S3_EntityTooLarge']);
    expect(classOf(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }))).toEqual(['halt', 'S3_CredentialsProviderError']);
    expect(classOf(Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }))).toEqual(['halt', 'DEPTH_ZERO_SELF_SIGNED_CERT']);
  });

  it('nothing an S3 call reports is dead-lettered (no good record is dropped for a setup problem)', () => {
    const all = [
      s3err('AccessDenied', 403), s3err('NoSuchBucket', 404), s3err('InvalidArgument', 400), s3err('MalformedXML', 400), s3err('EntityTooLarge', 400),
      s3err('InvalidRequest', 400), s3err('TooManyParts', 400), s3err('MissingContentLength', 411), s3err('PreconditionFailed', 412), s3err('Unknown', 418),
      new Error('???'), undefined, 'string thrown',
    ];
    for (const e of all) expect(s3Fault(e, target).deliveryClass).not.toBe('permanent');
  });

  it('a DeliveryError passes through', () => {
    const d = new DeliveryError('halt', 'S3_NO_ETAG', 'no ETag');
    expect(s3Fault(d, target)).toBe(d);
  });
});

describe('S3 errors explained', () => {
  it('wrong region: names the configured and the real region (header, <Region>, or the message)', () => {
    const redirect = s3err('PermanentRedirect', 301, 'The bucket you are attempting to access must be addressed using the specified endpoint.', { $response: { headers: { 'x-amz-bucket-region': 'eu-west-1' } } });
    expect(bucketRegionOf(redirect)).toBe('eu-west-1');
    expect(explainS3Error(redirect, target)).toMatch(/^wrong region: S3_REGION is us-west-2 but bucket unique-bucket-name is in eu-west-1 \(set S3_REGION=eu-west-1\)/);
    const malformed = s3err('AuthorizationHeaderMalformed', 400, "The authorization header is malformed; the region 'us-west-2' is wrong; expecting 'ap-south-1'");
    expect(explainS3Error(malformed, target)).toContain('is in ap-south-1 (set S3_REGION=ap-south-1)');
    expect(bucketRegionOf(s3err('AuthorizationHeaderMalformed', 400, 'x', { Region: 'ca-central-1' }))).toBe('ca-central-1');
    expect(explainS3Error(s3err('PermanentRedirect', 301, 'x'), target)).toContain('is in another region');
  });

  it('missing bucket, permission, credentials, endpoint', () => {
    expect(explainS3Error(new NoSuchBucket({ ...meta(404), message: 'The specified bucket does not exist' }), target)).toMatch(/^bucket unique-bucket-name does not exist at the AWS S3 endpoint of us-west-2: check S3_BUCKET and S3_REGION \[S3 said: NoSuchBucket: The specified bucket does not exist \(HTTP 404\)\]$/);
    expect(explainS3Error(new NoSuchBucket({ ...meta(404), message: 'x' }), { ...target, endpoint: 'http://minio:9000' })).toContain('does not exist at http://minio:9000: check S3_BUCKET and S3_ENDPOINT');
    expect(explainS3Error(new AccessDenied({ ...meta(403), message: 'Access Denied' }), target)).toMatch(/^access denied: .*s3:PutObject/);
    expect(explainS3Error(s3err('InvalidAccessKeyId', 403), target)).toMatch(/^the access key id is not known to S3/);
    expect(explainS3Error(s3err('SignatureDoesNotMatch', 403), target)).toMatch(/^the secret access key does not belong to the access key id/);
    expect(explainS3Error(s3err('KMS.DisabledException', 400), target)).toMatch(/^the KMS key was refused/);
    expect(explainS3Error(netErr('ECONNREFUSED'), { ...target, endpoint: 'http://127.0.0.1:9' })).toMatch(/^cannot reach http:\/\/127\.0\.0\.1:9: check S3_ENDPOINT/);
    expect(explainS3Error(netErr('ENOTFOUND'), target)).toMatch(/^cannot reach the AWS S3 endpoint of us-west-2/);
    expect(explainS3Error(s3err('InternalError', 500, 'We encountered an internal error.'), target)).toBe('S3 said: InternalError: We encountered an internal error. (HTTP 500)');
  });

  it('one line, and nothing of what S3 echoes about the request (signature, string to sign, key id)', () => {
    const e = s3err('SignatureDoesNotMatch', 403, 'The request signature we calculated does not match the signature you provided.\nCheck your key and signing method.', {
      AWSAccessKeyId: 'AKIAEXAMPLEKEYID', StringToSign: 'AWS4-HMAC-SHA256\n…', SignatureProvided: 'deadbeef', CanonicalRequest: 'PUT\n/…',
    });
    const text = explainS3Error(e, target);
    expect(text).not.toMatch(/[\r\n]/);
    for (const s of ['AKIAEXAMPLEKEYID', 'AWS4-HMAC', 'deadbeef', 'PUT\n']) expect(text).not.toContain(s);
    expect(s3Fault(e, target).message).toBe(text);
  });
});
