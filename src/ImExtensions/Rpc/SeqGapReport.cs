using MqttIm.Contracts.V1;

namespace MqttIm.ImExtensions.Rpc;

/// <summary>
/// Which missing seqs of a sync page are gone for good. In cluster mode two nodes can commit one conversation's seqs out
/// of order, and a node that dies between allocating a seq and storing it leaves a hole. A hole below a message stored
/// longer ago than the grace period is permanent: the seq was allocated before that message's, and no commit takes
/// that long (the commit queue gives up within its retries), so it can no longer arrive.
/// </summary>
internal sealed class SeqGapReport(TimeSpan grace, TimeProvider clock)
{
    // A dead node leaves at most one commit batch per conversation; this only bounds a pathological answer.
    private const int MaxSkippedPerConversation = 10_000;

    /// <summary>Adds the permanent holes between <paramref name="cursor"/> and the page's messages to <paramref name="skipped"/>.</summary>
    public void AddSkipped(long cursor, IReadOnlyList<ChatMessage> page, ICollection<long> skipped)
    {
        var settledBefore = clock.GetUtcNow().ToUnixTimeMilliseconds() - (long)grace.TotalMilliseconds;
        var expected = cursor + 1;
        foreach (var message in page)
        {
            if (message.Seq > expected && message.ServerTimeMs < settledBefore)
            {
                for (var seq = expected; seq < message.Seq && skipped.Count < MaxSkippedPerConversation; seq++)
                {
                    skipped.Add(seq);
                }
            }

            expected = message.Seq + 1;
        }
    }
}
