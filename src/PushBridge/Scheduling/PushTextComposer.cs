using System.Globalization;
using MqttIm.PushBridge.Jobs;

namespace MqttIm.PushBridge.Scheduling;

/// <summary>
/// What the phone shows for a job. One message: sender as title, the text as body. Merged: "3 new messages from Alice"
/// (or "from Alice and Bob", "from Alice, Bob and 2 others"). Privacy mode: no sender and no content at all.
/// </summary>
internal static class PushTextComposer
{
    private const int MaxBodyChars = 180;

    public static (string Title, string Body) Compose(PushJob job, bool privacy)
    {
        if (privacy)
        {
            return ("New message", job.MessageCount == 1 ? "You have a new message" : $"You have {job.MessageCount} new messages");
        }

        if (job.MessageCount > 1)
        {
            return (job.Senders.Count == 1 ? job.Senders[0] : "New messages", $"{job.MessageCount} new messages from {Senders(job.Senders)}");
        }

        var title = job.Title.Length > 0 ? job.Title : job.SenderId;
        return (title, Trim(job.Text.Length > 0 ? job.Text : "New message"));
    }

    private static string Senders(IReadOnlyList<string> senders) => senders.Count switch
    {
        0 => "your contacts",
        1 => senders[0],
        2 => $"{senders[0]} and {senders[1]}",
        3 => $"{senders[0]}, {senders[1]} and {senders[2]}",
        _ => string.Create(CultureInfo.InvariantCulture, $"{senders[0]}, {senders[1]} and {senders.Count - 2} others"),
    };

    private static string Trim(string text) => text.Length <= MaxBodyChars ? text : text[..(MaxBodyChars - 1)] + "…";
}
