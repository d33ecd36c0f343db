// The Amazon MQ for RabbitMQ event (eventSource "aws:rmq"), as Lambda delivers it and as the runner
// builds it from amqplib deliveries. @types/aws-lambda has no type for it.
export interface RmqBasicProperties {
  contentType: string | null;
  contentEncoding: string | null;
  headers: Record<string, unknown> | null;
  deliveryMode: number | null;
  priority: number | null;
  correlationId: string | null;
  replyTo: string | null;
  expiration: string | null;
  messageId: string | null;
  timestamp: string | null;
  type: string | null;
  userId: string | null;
  appId: string | null;
  clusterId: string | null;
  bodySize: number;
}

export interface RmqMessage {
  basicProperties: RmqBasicProperties;
  redelivered: boolean;
  /** The body, base64 */
  data: string;
}

export interface RmqEvent {
  eventSource: 'aws:rmq';
  eventSourceArn: string;
  /** Keyed by "queue::virtual-host" */
  rmqMessagesByQueue: Record<string, RmqMessage[]>;
}

export interface ItemFailure {
  /** The AMQP message id of the record */
  itemIdentifier: string;
  /** True when retrying cannot help (a malformed message): dead-letter it at once */
  permanent: boolean;
}

/**
 * Thrown by a consumer when some records of a batch failed. On AWS any error makes the whole batch
 * come back (the inbox skips the records that committed); the runner acks the others and retries
 * or dead-letters only these.
 */
export class BatchFailure extends Error {
  constructor(readonly failures: ItemFailure[]) {
    super(`${failures.length} message(s) of the batch failed`);
    this.name = 'BatchFailure';
  }
}

/** The failures a consumer reported, recognised by shape: the runner and each function are separate bundles. */
export function batchFailuresOf(error: unknown): ItemFailure[] | undefined {
  const failures = (error as { name?: string; failures?: unknown } | undefined)?.failures;
  return (error as Error | undefined)?.name === 'BatchFailure' && Array.isArray(failures) ? (failures as ItemFailure[]) : undefined;
}
