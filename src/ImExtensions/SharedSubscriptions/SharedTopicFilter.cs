namespace MqttIm.ImExtensions.SharedSubscriptions;

/// <summary>MQTT topic filter matching (spec 4.7) for shared groups, without allocating: the shared publish path runs it per group.</summary>
public static class SharedTopicFilter
{
    /// <summary>Whether <paramref name="topic"/> (a topic name) matches <paramref name="filter"/>.</summary>
    public static bool Matches(string filter, string topic)
    {
        if (topic.Length > 0 && topic[0] == '$' && filter.Length > 0 && filter[0] is '+' or '#')
        {
            return false; // spec 4.7.2: wildcards at the first level do not match $ topics
        }

        var f = 0;
        var t = 0; // start of the topic's current level; -1 once the topic has no more levels
        while (true)
        {
            var fEnd = filter.IndexOf('/', f);
            var filterLast = fEnd < 0;
            if (filterLast)
            {
                fEnd = filter.Length;
            }

            var level = filter.AsSpan(f, fEnd - f);
            if (level is "#")
            {
                return true; // this level and all below, the parent included ("a/#" matches "a")
            }

            if (t < 0)
            {
                return false;
            }

            var tEnd = topic.IndexOf('/', t);
            var topicLast = tEnd < 0;
            if (topicLast)
            {
                tEnd = topic.Length;
            }

            if (level is not "+" && !level.SequenceEqual(topic.AsSpan(t, tEnd - t)))
            {
                return false;
            }

            if (filterLast)
            {
                return topicLast;
            }

            f = fEnd + 1;
            t = topicLast ? -1 : tEnd + 1;
        }
    }

    /// <summary>Non-empty, '#' only as the whole last level, '+' only as a whole level (spec 4.7.1).</summary>
    public static bool IsValidFilter(string filter)
    {
        if (filter.Length == 0)
        {
            return false;
        }

        for (var i = 0; i < filter.Length; i++)
        {
            var c = filter[i];
            if (c is not ('+' or '#'))
            {
                continue;
            }

            var alone = (i == 0 || filter[i - 1] == '/') && (i == filter.Length - 1 || filter[i + 1] == '/');
            if (!alone || (c == '#' && i != filter.Length - 1))
            {
                return false;
            }
        }

        return true;
    }
}
