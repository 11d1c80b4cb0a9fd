using MqttIm.Contracts.V1;

namespace MqttIm.DeviceSdk.Sync;

/// <summary>One conversation's receive state: the highest contiguous seq released and the messages held back behind a gap.</summary>
internal sealed class ConversationCursor(long cursor, bool known)
{
    /// <summary>Highest seq released (or known not to be this user's); every seq up to it has been handled exactly once.</summary>
    public long Cursor { get; private set; } = cursor;

    /// <summary>Whether the cursor is established (restored, something released, or set from the broker's answer) rather than a guessed 0.</summary>
    public bool Known { get; set; } = known;

    /// <summary>Messages after a gap, by seq.</summary>
    public SortedDictionary<long, ChatMessage> Pending { get; } = [];

    /// <summary>Seqs ahead of the cursor the broker reported as never to exist (skipped over when the cursor reaches them).</summary>
    public SortedSet<long> Skipped { get; } = [];

    /// <summary>When the current gap opened (null: no gap).</summary>
    public long? GapSince { get; set; }

    /// <summary>A fill of this conversation's gap is scheduled or running.</summary>
    public bool FillScheduled { get; set; }

    public bool HasGap => Pending.Count > 0;

    /// <summary>Moves the cursor over a released (or skipped) seq.</summary>
    public void Advance(long seq)
    {
        Cursor = seq;
        Known = true;
    }
}
