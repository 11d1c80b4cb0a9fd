namespace MqttIm.ImExtensions.Topics;

/// <summary>A topic split into its kind, the id it addresses (peer, group, method, inbox owner…) and whatever follows.</summary>
public readonly record struct ParsedTopic(TopicKind Kind, string Target, string Rest)
{
    /// <summary>Classifies a topic name or filter by its leading levels.</summary>
    public static ParsedTopic Parse(string topic)
    {
        if (topic.Length == 0)
        {
            return new ParsedTopic(TopicKind.Plain, "", "");
        }

        if (topic[0] == '$')
        {
            return new ParsedTopic(TopicKind.System, "", topic);
        }

        var firstSlash = topic.IndexOf('/');
        var firstLevel = firstSlash < 0 ? topic.AsSpan() : topic.AsSpan(0, firstSlash);
        if (!IsReservedRoot(firstLevel))
        {
            // The per-publish path of plain MQTT: no substring is allocated.
            return new ParsedTopic(TopicKind.Plain, "", topic);
        }

        var first = firstLevel.ToString();
        var remainder = firstSlash < 0 ? "" : topic[(firstSlash + 1)..];
        switch (first)
        {
            case "#" or "+":
                return new ParsedTopic(TopicKind.Wildcard, "", remainder);
            case "im":
                var (action, afterAction) = SplitLevel(remainder);
                var (target, rest) = SplitLevel(afterAction);
                var kind = action switch
                {
                    "c2c" when rest.Length == 0 && target.Length > 0 => TopicKind.C2cSend,
                    "group" when rest.Length == 0 && target.Length > 0 => TopicKind.GroupSend,
                    "rpc" when target.Length > 0 => TopicKind.Rpc,
                    _ => TopicKind.ImReserved,
                };
                // RPC methods may have several levels (push/register): keep the whole path as the target.
                return kind == TopicKind.Rpc ? new ParsedTopic(kind, afterAction, "") : new ParsedTopic(kind, target, rest);
            case "inbox":
                var (owner, tail) = SplitLevel(remainder);
                return new ParsedTopic(TopicKind.Inbox, owner, tail);
            case "room" or "device" or "presence":
                var (id, after) = SplitLevel(remainder);
                var reservedKind = first == "room" ? TopicKind.Room : first == "device" ? TopicKind.Device : TopicKind.Presence;
                return new ParsedTopic(reservedKind, id, after);
            default:
                return new ParsedTopic(TopicKind.Plain, "", topic);
        }
    }

    private static bool IsReservedRoot(ReadOnlySpan<char> level) =>
        level is "#" or "+" or "im" or "inbox" or "room" or "device" or "presence";

    private static (string Level, string Remainder) SplitLevel(string path)
    {
        var slash = path.IndexOf('/');
        return slash < 0 ? (path, "") : (path[..slash], path[(slash + 1)..]);
    }
}
