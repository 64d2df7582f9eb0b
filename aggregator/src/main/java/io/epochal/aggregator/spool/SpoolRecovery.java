package io.epochal.aggregator.spool;

/**
 * What {@link FileSpool#open} found and repaired; every cut is also logged. The aggregator may
 * export these as metrics: bytes cut here are blobs that did not survive.
 *
 * @param segments segment files kept
 * @param records records found intact in unacknowledged segments
 * @param tornTailBytes bytes cut from the end of the last segment (an interrupted append: expected
 *     after a crash, logged at WARN)
 * @param corruptBytes bytes cut from a bad record to the end of its segment, where the bad record is
 *     in an older segment or is followed by an intact record (storage damage or a lost write: logged
 *     at ERROR)
 * @param millis how long opening took
 */
public record SpoolRecovery(int segments, long records, long tornTailBytes, long corruptBytes, long millis) {}
