import { Processor } from '@nestjs/bullmq';
import { QueueName } from '../../core/queue/queue-names';
import { TypedProcessor, type JobHandlers } from '../../core/queue/typed-processor';
import { MediaProcessingService } from './media-processing.service';
import { MEDIA_JOB_NAMES, type MediaJobs } from './media.jobs';

/** The `media` queue: scans and renditions of new media, and periodic upkeep. */
@Processor(QueueName.Media)
export class MediaProcessor extends TypedProcessor<MediaJobs> {
  protected readonly jobNames = MEDIA_JOB_NAMES;
  protected readonly handlers: JobHandlers<MediaJobs> = {
    process: (payload, job) =>
      this.processing.process(payload.mediaId, job.attemptsMade + 1 >= (job.opts.attempts ?? 1)),
    maintain: () => this.processing.maintain(),
  };

  constructor(private readonly processing: MediaProcessingService) {
    super();
  }
}
