<?xml version="1.0" encoding="UTF-8"?>
<!-- Makes a procwatch feed opened in a browser a readable page; feed readers ignore it. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform" xmlns:atom="http://www.w3.org/2005/Atom"
  exclude-result-prefixes="atom">
  <xsl:output method="html" encoding="UTF-8" doctype-system="about:legacy-compat"/>
  <xsl:template match="/">
    <html lang="zh-CN">
      <head>
        <meta charset="utf-8"/>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <title><xsl:value-of select="rss/channel/title|atom:feed/atom:title"/></title>
        <style>
          body { margin:0 auto; max-width:860px; padding:1rem 1.2rem; font:15px/1.6 -apple-system,"PingFang SC","Noto Sans CJK SC",sans-serif; color:#1d1d1f; background:#fafafa; }
          .about { background:#fff7e0; border:1px solid #f0d68a; padding:.6rem .9rem; border-radius:6px; }
          article { background:#fff; border:1px solid #e3e3e8; border-radius:6px; padding:.6rem .9rem; margin:.8rem 0; }
          h2 { font-size:1.05rem; margin:.2rem 0; } .meta { color:#6b6b70; font-size:.85rem; }
          mark { background:#fff2a8; } ins { background:#d6f5df; text-decoration:none; } del { background:#ffd9d6; }
        </style>
      </head>
      <body>
        <h1><xsl:value-of select="rss/channel/title|atom:feed/atom:title"/></h1>
        <p class="about">这是一个 RSS/Atom 订阅源。把这个网址复制到阅读器(如 newsboat、Feedly、NetNewsWire)即可订阅。
          <a href="/">procwatch 首页</a></p>
        <xsl:for-each select="rss/channel/item">
          <article>
            <h2><a href="{link}"><xsl:value-of select="title"/></a></h2>
            <div class="meta"><xsl:value-of select="pubDate"/> · <xsl:for-each select="category"><xsl:value-of select="."/><xsl:if test="position() != last()">、</xsl:if></xsl:for-each></div>
            <div><xsl:value-of select="description" disable-output-escaping="yes"/></div>
          </article>
        </xsl:for-each>
        <xsl:for-each select="atom:feed/atom:entry">
          <article>
            <h2><a href="{atom:link/@href}"><xsl:value-of select="atom:title"/></a></h2>
            <div class="meta"><xsl:value-of select="atom:updated"/> · <xsl:for-each select="atom:category"><xsl:value-of select="@term"/><xsl:if test="position() != last()">、</xsl:if></xsl:for-each></div>
            <div><xsl:value-of select="atom:summary|atom:content" disable-output-escaping="yes"/></div>
          </article>
        </xsl:for-each>
      </body>
    </html>
  </xsl:template>
</xsl:stylesheet>
