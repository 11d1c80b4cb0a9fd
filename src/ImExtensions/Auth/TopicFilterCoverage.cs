namespace MqttIm.ImExtensions.Auth;

/// <summary>Topic filter algebra for ACL lists: whether a topic matches a filter, and whether one filter lies inside another.</summary>
internal static class TopicFilterCoverage
{
    /// <summary>Whether the topic name matches the filter (MQTT 4.7 wildcards).</summary>
    public static bool Matches(string filter, string topic) => Covers(filter, topic);

    /// <summary>
    /// Whether every topic <paramref name="inner"/> can match is also matched by <paramref name="outer"/>, so granting
    /// <paramref name="inner"/> gives nothing <paramref name="outer"/> does not allow.
    /// </summary>
    public static bool Covers(string outer, string inner)
    {
        var o = outer.Split('/');
        var i = inner.Split('/');
        for (var level = 0; level < o.Length; level++)
        {
            if (o[level] == "#")
            {
                return true; // the rest, whatever it is (also a '#' or nothing: "a/#" covers "a")
            }

            if (level >= i.Length)
            {
                return false;
            }

            if (i[level] == "#")
            {
                return false; // inner reaches deeper levels than a non-'#' outer
            }

            if (o[level] == "+")
            {
                continue; // one level, literal or '+'
            }

            if (i[level] != o[level])
            {
                return false; // a literal covers only the same literal (not a '+')
            }
        }

        return o.Length == i.Length;
    }
}
