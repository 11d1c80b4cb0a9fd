namespace MqttIm.ImExtensions.SharedSubscriptions;

/// <summary>
/// A shared subscription's topic filter, <c>$share/{ShareName}/{Filter}</c> (MQTT 5.0 §4.8.2; also taken from MQTT 3.1.1
/// clients, as Mosquitto and EMQX do). MQTTnet 5.2 answers every <c>$share/</c> filter itself before any interceptor
/// runs, so the broker's packet layer hands such filters on as <see cref="RewrittenPrefix"/><c>{subscriptionId}/{ShareName}/{Filter}</c>:
/// U+0000 never starts a client's filter (the packet layer refuses it), and the SUBSCRIBE's Subscription Identifier,
/// which MQTTnet does not show its interceptor, travels with the filter.
/// </summary>
public readonly record struct SharedFilter(string ShareName, string Filter, uint SubscriptionId)
{
    public const string Prefix = "$share/";

    /// <summary>How the packet layer hands a <see cref="Prefix"/> filter on to MQTTnet (followed by the subscription id and '/').</summary>
    public const string RewrittenPrefix = "\0share/";

    /// <summary>The filter as the client wrote it.</summary>
    public string Text => Prefix + ShareName + "/" + Filter;

    /// <summary>Whether the filter is a shared subscription, as a client sent it or as the packet layer rewrote it.</summary>
    public static bool IsShared(string topicFilter) =>
        topicFilter.StartsWith(RewrittenPrefix, StringComparison.Ordinal) || topicFilter.StartsWith(Prefix, StringComparison.Ordinal);

    /// <summary>
    /// The form MQTTnet passes on to its subscription interceptor, for a <c>$share/</c> filter the broker subscribes a
    /// session to itself (a persistent session restored after a restart); other filters unchanged.
    /// </summary>
    public static string ForInterceptor(string topicFilter) =>
        topicFilter.StartsWith(Prefix, StringComparison.Ordinal) ? RewrittenPrefix + "0/" + topicFilter[Prefix.Length..] : topicFilter;

    /// <summary>
    /// Reads a shared filter in either form. False with the reason when it is malformed: a share name that is empty or
    /// holds '+' or '#', no filter after it, or a filter with a misplaced wildcard (SUBACK 0x8F Topic Filter Invalid).
    /// </summary>
    public static bool TryParse(string topicFilter, out SharedFilter shared, out string? error)
    {
        shared = default;
        uint subscriptionId = 0;
        int rest;
        if (topicFilter.StartsWith(RewrittenPrefix, StringComparison.Ordinal))
        {
            var idEnd = topicFilter.IndexOf('/', RewrittenPrefix.Length);
            if (idEnd < 0 || !uint.TryParse(topicFilter.AsSpan(RewrittenPrefix.Length, idEnd - RewrittenPrefix.Length),
                    System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out subscriptionId))
            {
                error = "malformed shared subscription";
                return false;
            }

            rest = idEnd + 1;
        }
        else if (topicFilter.StartsWith(Prefix, StringComparison.Ordinal))
        {
            rest = Prefix.Length;
        }
        else
        {
            error = "not a shared subscription";
            return false;
        }

        var nameEnd = topicFilter.IndexOf('/', rest);
        if (nameEnd < 0)
        {
            error = "a shared subscription is $share/{ShareName}/{filter}: the filter is missing";
            return false;
        }

        var shareName = topicFilter[rest..nameEnd];
        if (shareName.Length == 0 || shareName.AsSpan().IndexOfAny('+', '#') >= 0)
        {
            error = "the share name of $share/{ShareName}/{filter} must be non-empty, without '/', '+' or '#'";
            return false;
        }

        var filter = topicFilter[(nameEnd + 1)..];
        if (!SharedTopicFilter.IsValidFilter(filter))
        {
            error = "the filter of $share/{ShareName}/{filter} is empty or has a misplaced wildcard";
            return false;
        }

        shared = new SharedFilter(shareName, filter, subscriptionId);
        error = null;
        return true;
    }
}
