using System.Collections;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Wills;

/// <summary>
/// Session-item keys of the will machinery. A will is injected with its own session items that name the connection it
/// belonged to, so the publish hook checks it against that client's ACL although the connection is gone.
/// </summary>
internal static class WillPublication
{
    /// <summary>Key, in the injected message's session items, of the <see cref="ConnectedDevice"/> that set the will.</summary>
    private static readonly object PublisherKey = new();

    /// <summary>
    /// Key, in MQTTnet's session items, of a token that tells one session from the next of the same client id: MQTTnet
    /// keeps a session's items when it resumes and starts empty ones for a new session (clean start).
    /// </summary>
    public static readonly object SessionTokenKey = new();

    /// <summary>The session items to inject a will with.</summary>
    public static IDictionary ItemsFor(ConnectedDevice publisher) => new Hashtable { [PublisherKey] = publisher };

    /// <summary>The connection whose will this publish is; null for every other publish.</summary>
    public static ConnectedDevice? PublisherOf(IDictionary? sessionItems) => sessionItems?[PublisherKey] as ConnectedDevice;
}
