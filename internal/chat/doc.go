// Package chat is the domain of the chat: rooms, messages, the events that
// change a room, their validation and rendering, and the Service that the
// HTTP handlers call. Storage and fan-out are reached through the Store and
// Publisher interfaces declared here, so the domain knows neither DynamoDB
// nor GRIP.
package chat
