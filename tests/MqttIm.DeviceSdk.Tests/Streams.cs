using MqttIm.Contracts.V1;

namespace MqttIm.DeviceSdk.Tests;

/// <summary>Reads a client's ordered message stream with a deadline, so a missing message fails the test instead of hanging it.</summary>
internal static class Streams
{
    public static async Task<List<ChatMessage>> TakeAsync(this MqttImClient client, int count, TimeSpan? timeout = null)
    {
        var taken = new List<ChatMessage>();
        using var deadline = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        try
        {
            await foreach (var message in client.ReadMessagesAsync(deadline.Token))
            {
                taken.Add(message);
                if (taken.Count == count)
                {
                    return taken;
                }
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
        }

        throw new TimeoutException($"{client.UserId} received {taken.Count} of {count} messages: "
            + string.Join(", ", taken.Select(m => $"{m.ConversationId}#{m.Seq}")));
    }

    /// <summary>Seqs as a list, for readable equality assertions.</summary>
    public static List<long> Seqs(this IEnumerable<ChatMessage> messages) => messages.Select(m => m.Seq).ToList();

    public static List<long> Range(long from, long to) => Enumerable.Range((int)from, (int)(to - from + 1)).Select(i => (long)i).ToList();
}
