using Microsoft.Extensions.Options;
using MqttIm.Contracts.V1;

namespace MqttIm.ImExtensions.Rooms;

/// <summary>
/// Turns one window of a room's envelopes into one frame: gifts and system messages all (in seq order), chat sampled
/// down to the room's rate minus the share kept for high priority, likes summed, join/leave news and the viewer count at
/// most once per <see cref="RoomOptions.CountIntervalMs"/>. Controls (ban, close, settings) are returned to the pump.
/// </summary>
internal sealed class RoomFrameBuilder(IOptions<RoomOptions> options, RoomCatalog catalog, TimeProvider time)
{
    private readonly RoomOptions _options = options.Value;
    private readonly List<RoomMessage> _reliable = [];
    private readonly List<RoomMessage> _chat = [];

    /// <summary>Null when the window has nothing to send. Runs on the frame pump only (the lists are reused).</summary>
    public RoomFrameBuffers? Build(LiveRoom room, List<RoomEnvelope> controls)
    {
        _reliable.Clear();
        _chat.Clear();
        long likes = 0;
        var closed = false;
        while (room.Incoming.TryDequeue(out var envelope))
        {
            if (envelope.Control.Length > 0)
            {
                controls.Add(envelope);
                closed |= envelope.Control == "close";
                continue;
            }

            if (envelope.Likes > 0)
            {
                likes += envelope.Likes;
                room.LikesTotal = Math.Max(room.LikesTotal, envelope.LikesTotal);
            }

            if (envelope.Message is { } message)
            {
                if (RoomKinds.IsReliable(message.Kind))
                {
                    _reliable.Add(message);
                    room.LastSeq = Math.Max(room.LastSeq, message.Seq);
                }
                else
                {
                    _chat.Add(message);
                }
            }
        }

        var now = time.GetTimestamp();
        var frame = new RoomFrame { RoomId = room.RoomId, LastSeq = room.LastSeq, Likes = likes, LikesTotal = room.LikesTotal, Closed = closed };
        frame.Messages.AddRange(_reliable);
        var kept = Sample(room, _chat.Count, _reliable.Count, WindowSeconds(room, now));
        AddSampled(frame, kept);
        frame.SampledOut = _chat.Count - kept;
        RoomMetrics.MessagesSampledOut.Inc(frame.SampledOut);

        var countDue = time.GetElapsedTime(room.LastCountFrameAt, now).TotalMilliseconds >= _options.CountIntervalMs;
        var news = false;
        if (countDue)
        {
            news = room.TakeJoinsAndLeaves(frame) | room.TotalViewers != room.LastSentViewers;
        }

        frame.Viewers = room.TotalViewers;
        if (frame.Messages.Count == 0 && likes == 0 && !closed && !news)
        {
            return null;
        }

        if (countDue)
        {
            room.LastCountFrameAt = now;
            room.LastSentViewers = room.TotalViewers;
        }

        RoomMetrics.Frames.Inc();
        return new RoomFrameBuffers(room.Topic, frame, hasReliable: _reliable.Count > 0 || closed, hasEphemeral: kept > 0 || likes > 0 || news);
    }

    /// <summary>
    /// Seconds this window covers: the frame interval, or more when the pump ran late (a loaded machine), so the room's
    /// rate holds per second rather than per tick; at most one second (the credit cap bounds it anyway).
    /// </summary>
    private double WindowSeconds(LiveRoom room, long now)
    {
        var nominal = _options.FrameIntervalMs / 1000.0;
        var last = room.LastWindowAt;
        room.LastWindowAt = now;
        return last == 0 ? nominal : Math.Clamp(time.GetElapsedTime(last, now).TotalSeconds, nominal, Math.Max(nominal, 1.0));
    }

    /// <summary>How many chat messages this window may carry; the allowance is carried between windows, up to one second's worth.</summary>
    private int Sample(LiveRoom room, int chatCount, int reliableCount, double window)
    {
        var info = catalog.Cached(room.RoomId);
        var rate = info is { MaxMessagesPerSecond: > 0 } ? info.MaxMessagesPerSecond : _options.DefaultMessagesPerSecond;
        var total = rate * window;
        var reserved = total * _options.HighPriorityShare;
        var chatAllowance = Math.Max(0, total - Math.Max(reserved, reliableCount));
        var credit = Math.Min(room.ChatCredit + chatAllowance, Math.Max(1, rate * (1 - _options.HighPriorityShare)));
        var kept = Math.Min(chatCount, (int)credit);
        room.ChatCredit = credit - kept;
        return kept;
    }

    /// <summary>Keeps <paramref name="kept"/> chat messages chosen uniformly at random, in their arrival order.</summary>
    private void AddSampled(RoomFrame frame, int kept)
    {
        if (kept >= _chat.Count)
        {
            frame.Messages.AddRange(_chat);
            return;
        }

        // Selection sampling (Knuth's algorithm S): one pass, order kept.
        var needed = kept;
        for (var i = 0; i < _chat.Count && needed > 0; i++)
        {
            if (Random.Shared.Next(_chat.Count - i) < needed)
            {
                frame.Messages.Add(_chat[i]);
                needed--;
            }
        }
    }
}
