using MqttIm.ImExtensions.Auth;
using MqttIm.ImExtensions.Topics;

namespace MqttIm.ImExtensions.Routing;

/// <summary>The ACL of clients without a user name (<c>Auth:AllowAnonymous</c>): plain topics inside <c>Auth:Anonymous</c>'s lists only.</summary>
internal sealed class AnonymousTopicAcl(AnonymousOptions options)
{
    /// <summary>The owner recorded for client ids that anonymous clients use (<see cref="AnonymousOptions.ClientIdOwner"/>).</summary>
    public const string ClientIdOwner = AnonymousOptions.ClientIdOwner;

    public AclDecision CheckSubscribe(in ParsedTopic filter)
    {
        if (filter.Kind is not (TopicKind.Plain or TopicKind.Wildcard))
        {
            return AclDecision.Deny("anonymous clients may use plain topics only");
        }

        var whole = filter.Kind == TopicKind.Wildcard ? WholeFilter(filter) : filter.Rest;
        return Check(options.Subscribe, f => TopicFilterCoverage.Covers(f, whole), "subscribe");
    }

    public AclDecision CheckPublish(in ParsedTopic topic)
    {
        if (topic.Kind != TopicKind.Plain)
        {
            return AclDecision.Deny("anonymous clients may use plain topics only");
        }

        var name = topic.Rest;
        return Check(options.Publish, f => TopicFilterCoverage.Matches(f, name), "publish");
    }

    private static AclDecision Check(string[]? allowed, Func<string, bool> inside, string what)
    {
        if (allowed is null)
        {
            return AclDecision.Allow;
        }

        foreach (var filter in allowed)
        {
            if (inside(filter))
            {
                return AclDecision.Allow;
            }
        }

        return AclDecision.Deny($"anonymous clients may not {what} here (Auth:Anonymous:{(what == "publish" ? "Publish" : "Subscribe")})");
    }

    // ParsedTopic drops a leading '#' or '+': "#" has nothing after it, so an empty rest is read as "#" (the wider of the two,
    // so a check never grants more than the list allows); anything after it was a '+' level.
    private static string WholeFilter(in ParsedTopic filter) => filter.Rest.Length == 0 ? "#" : "+/" + filter.Rest;
}
