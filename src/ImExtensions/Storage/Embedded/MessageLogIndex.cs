using System.IO.Hashing;
using System.Runtime.InteropServices;

namespace MqttIm.ImExtensions.Storage.Embedded;

/// <summary>
/// Where each stored message is in the log, kept in memory and rebuilt from the log at start: per conversation its
/// records sorted by seq, and a hash of every client message key. Not thread-safe: <see cref="MessageLog"/> locks it.
/// </summary>
/// <remarks>
/// Memory, measured (tests/MqttIm.Microbench <c>message-log</c>): 16 bytes a message in its conversation's array and
/// ~24 for the key hash (when the sender set a client message id), plus each conversation's id and array slack. The hash is a 64-bit XxHash of the key: equal hashes are
/// candidates that the log confirms by reading the record, so a collision costs a read, never a wrong answer.
/// </remarks>
internal sealed class MessageLogIndex
{
    private readonly Dictionary<string, Conversation> _conversations = new(StringComparer.Ordinal);
    private readonly Dictionary<ulong, Location> _byClientMsgKey = new();

    // The second and later records of one hash (distinct keys that collide); almost always empty.
    private readonly Dictionary<ulong, List<Location>> _collisions = new();

    public int MessageCount { get; private set; }

    public long GetMaxSeq(string conversationId) =>
        _conversations.TryGetValue(conversationId, out var conversation) && conversation.Count > 0 ? conversation.Items[conversation.Count - 1].Seq : 0;

    public bool Contains(string conversationId, long seq) =>
        _conversations.TryGetValue(conversationId, out var conversation) && conversation.IndexOf(seq) >= 0;

    public void Add(string conversationId, long seq, string senderId, string clientMsgId, Location location)
    {
        if (!_conversations.TryGetValue(conversationId, out var conversation))
        {
            conversation = new Conversation();
            _conversations.Add(conversationId, conversation);
        }

        conversation.Insert(new Entry(seq, location));
        MessageCount++;
        if (clientMsgId.Length == 0)
        {
            return;
        }

        var hash = HashKey(new ClientMsgKey(conversationId, senderId, clientMsgId));
        if (!_byClientMsgKey.TryAdd(hash, location))
        {
            ref var others = ref CollectionsMarshal.GetValueRefOrAddDefault(_collisions, hash, out _);
            (others ??= []).Add(location);
        }
    }

    /// <summary>
    /// The records that may hold this key: <paramref name="first"/>, and <paramref name="others"/> only when distinct keys
    /// share its hash. The caller reads them to confirm. False when no stored key has this hash.
    /// </summary>
    public bool TryFindCandidates(ClientMsgKey key, out Location first, out Location[]? others)
    {
        var hash = HashKey(key);
        if (!_byClientMsgKey.TryGetValue(hash, out first))
        {
            others = null;
            return false;
        }

        others = _collisions.TryGetValue(hash, out var collided) ? [.. collided] : null; // a copy: read outside the lock
        return true;
    }

    /// <summary>Up to <paramref name="limit"/> records with seq &gt; <paramref name="afterSeq"/>, ascending.</summary>
    public List<Location> After(string conversationId, long afterSeq, int limit)
    {
        var found = new List<Location>();
        if (!_conversations.TryGetValue(conversationId, out var conversation))
        {
            return found;
        }

        for (var i = conversation.FirstAbove(afterSeq); i < conversation.Count && found.Count < limit; i++)
        {
            found.Add(conversation.Items[i].Location);
        }

        return found;
    }

    /// <summary>The newest <paramref name="limit"/> records with seq &lt; <paramref name="beforeSeq"/>, ascending.</summary>
    public List<Location> Before(string conversationId, long beforeSeq, int limit)
    {
        var found = new List<Location>();
        if (!_conversations.TryGetValue(conversationId, out var conversation))
        {
            return found;
        }

        var end = conversation.FirstAbove(beforeSeq - 1); // first index with seq >= beforeSeq
        for (var i = Math.Max(0, end - limit); i < end; i++)
        {
            found.Add(conversation.Items[i].Location);
        }

        return found;
    }

    public Location? Get(string conversationId, long seq) =>
        _conversations.TryGetValue(conversationId, out var conversation) && conversation.IndexOf(seq) is var i and >= 0
            ? conversation.Items[i].Location
            : null;

    private static ulong HashKey(ClientMsgKey key)
    {
        // Lengths first, so ("ab","c") and ("a","bc") differ.
        var hash = new XxHash64();
        Span<byte> lengths = stackalloc byte[12];
        BitConverter.TryWriteBytes(lengths, key.ConversationId.Length);
        BitConverter.TryWriteBytes(lengths[4..], key.SenderId.Length);
        BitConverter.TryWriteBytes(lengths[8..], key.ClientMsgId.Length);
        hash.Append(lengths);
        hash.Append(MemoryMarshal.AsBytes(key.ConversationId.AsSpan()));
        hash.Append(MemoryMarshal.AsBytes(key.SenderId.AsSpan()));
        hash.Append(MemoryMarshal.AsBytes(key.ClientMsgId.AsSpan()));
        return hash.GetCurrentHashAsUInt64();
    }

    /// <summary>
    /// A record in the log: where it starts and its total length (header included), packed in 8 bytes (38 bits of
    /// position, 26 of length), which is half of what this index holds per message.
    /// </summary>
    public readonly struct Location
    {
        public const long MaxPosition = (1L << 38) - 1; // 256 GiB of log
        public const int MaxLength = (1 << 26) - 1; // 64 MiB, above MessageLogFile.MaxRecordBytes + its header

        private readonly ulong _packed;

        public Location(long position, int length)
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThan((ulong)position, (ulong)MaxPosition, nameof(position));
            ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)length, (uint)MaxLength, nameof(length));
            _packed = ((ulong)position << 26) | (uint)length;
        }

        public long Position => (long)(_packed >> 26);

        public int Length => (int)(_packed & MaxLength);
    }

    private readonly record struct Entry(long Seq, Location Location);

    private sealed class Conversation
    {
        public Entry[] Items = new Entry[2];
        public int Count;

        public int IndexOf(long seq)
        {
            var i = FirstAbove(seq - 1);
            return i < Count && Items[i].Seq == seq ? i : -1;
        }

        /// <summary>Index of the first entry with seq &gt; <paramref name="seq"/> (Count when none).</summary>
        public int FirstAbove(long seq)
        {
            if (Count == 0 || Items[Count - 1].Seq <= seq)
            {
                return Count; // the common case: reading or appending at the tail
            }

            int low = 0, high = Count - 1;
            while (low < high)
            {
                var mid = (low + high) >>> 1;
                if (Items[mid].Seq > seq)
                {
                    high = mid;
                }
                else
                {
                    low = mid + 1;
                }
            }

            return low;
        }

        public void Insert(Entry entry)
        {
            if (Count == Items.Length)
            {
                Array.Resize(ref Items, Items.Length * 2);
            }

            // Seqs arrive ascending per conversation from one commit loop; two writers (or a resync) may interleave.
            var at = FirstAbove(entry.Seq);
            Array.Copy(Items, at, Items, at + 1, Count - at);
            Items[at] = entry;
            Count++;
        }
    }
}
