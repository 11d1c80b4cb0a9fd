using System.Security.Cryptography;
using System.Text;

namespace MqttIm.PushBridge.Scheduling;

/// <summary>
/// Collapse ids: one per conversation (the newest notification of a chat replaces its older one on the phone), one for
/// a user's merged multi-conversation push. Hashed to stay within APNs' 64 bytes and to keep user ids off the wire.
/// </summary>
internal static class CollapseIds
{
    public const string Merged = "im-inbox";

    public static string ForConversation(string conversationId) =>
        "c-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(conversationId)).AsSpan(0, 12));
}
